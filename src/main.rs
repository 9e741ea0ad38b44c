//! The `wsdissect` command: flags in, frames out, an exit status that says how it went.

mod cli;

fn main() -> std::process::ExitCode {
    cli::exit_code(cli::run())
}

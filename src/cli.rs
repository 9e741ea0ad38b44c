//! Command-line flags, resolved once into what to read, how to analyse and how to print.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use std::collections::{HashMap, HashSet};

use wsdissect::Dissector;
use wsdissect::analyzer::{
    Config, ConnectionInfo, Endpoint, FlowKey, Frame, HandshakeEvent, Http2Stats, Output, Stats, TlsStats, flow_key,
};
use wsdissect::capture::filter::CaptureFilter;
use wsdissect::capture::live::LiveCapture;
use wsdissect::capture::set::CaptureSet;
use wsdissect::capture::write::CaptureWriter;
use wsdissect::capture::{self, Block};
use wsdissect::fields::{self, Context, Field};
use wsdissect::filter::Filter;
use wsdissect::net::{self, TcpSegment};
use wsdissect::output;
use wsdissect::output::FieldsLayout;
use wsdissect::output::json::{BytesAs, JsonWriter};
use wsdissect::output::messages::MessageRecord;
use wsdissect::output::overview::{ConnectionTable, StatsCollector};
use wsdissect::output::tree::TextAs;
use wsdissect::tls::keylog::KeyLog;

/// Exit status: every packet was read and analysed.
pub const EXIT_OK: u8 = 0;
/// Exit status: the capture is damaged or cut short, or TLS records failed their check; what
/// could be read was analysed.
pub const EXIT_DAMAGED: u8 = 1;
/// Exit status: nothing was analysed (bad flags, unreadable or non-capture file).
pub const EXIT_USAGE: u8 = 2;

const AFTER_HELP: &str = "\
Examples:
  wsdissect capture.pcap                          one line per WebSocket frame
  wsdissect -r capture.pcapng -V                  Wireshark's tree for every frame
  wsdissect -r capture.pcap -T fields -e frame.number -e websocket.opcode -e websocket.payload.text
  tcpdump -i lo -w - port 8080 | wsdissect -r -   read a live capture from a pipe
  wsdissect -r midstream.pcap -d tcp.port==9000,websocket
  wsdissect -r wss.pcapng --keylog keys.txt       decrypt wss:// with a key log (SSLKEYLOGFILE)
  wsdissect capture.pcap --messages -T jsonl      one JSON object per message (joined, inflated)
  wsdissect capture.pcap -Y 'websocket.opcode == 1 && websocket.payload.text contains \"error\"'

Exit status:
  0  the whole capture was read
  1  the capture is damaged or cut short (everything before the damage was analysed), or TLS
     records failed their integrity check (wrong keys, or altered records)
  2  nothing was analysed: bad flags or filter, a missing, unreadable, empty or non-capture file,
     a key log that cannot be read or holds no secret";

/// wsdissect: WebSocket frames out of pcap and pcapng captures, the way Wireshark shows them.
#[derive(Debug, Parser)]
#[command(version, about, after_help = AFTER_HELP, disable_version_flag = true)]
pub struct Args {
    /// Print the version (-V is the tree, as in tshark).
    #[arg(long, action = clap::ArgAction::Version)]
    version: Option<bool>,

    /// Capture to read (pcap or pcapng, detected from its content); `-` reads standard input.
    /// Several files, a directory or a quoted pattern (`'ring*'`) are read as one capture.
    #[arg(value_name = "FILE")]
    file: Vec<String>,

    /// Capture to read, as tshark's -r; repeat it to read several files as one capture.
    #[arg(short = 'r', long = "read-file", value_name = "FILE")]
    read_file: Vec<String>,

    /// Capture live on a network interface (`any` for all of them); repeat for several. Frames
    /// are printed as they arrive; Ctrl-C ends with the summary. Needs CAP_NET_RAW (root).
    #[arg(short = 'i', long = "interface", value_name = "IFACE", conflicts_with_all = ["file", "read_file"])]
    interface: Vec<String>,

    /// Capture filter for -i, in pcap-filter syntax: 'tcp port 8080', 'host ::1 and port 443'.
    #[arg(short = 'f', value_name = "FILTER")]
    capture_filter: Option<String>,

    /// When a live capture stops: duration:SECONDS (or packets:N, packets captured).
    #[arg(short = 'a', value_name = "CONDITION")]
    autostop: Vec<String>,

    /// Output format.
    #[arg(short = 'T', value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Field to print with -T fields (repeat for more columns; see --list-fields).
    #[arg(short = 'e', value_name = "FIELD")]
    fields: Vec<String>,

    /// How -T fields lays out its lines, as tshark's -E: header=y|n, separator=/t|/s|C,
    /// quote=d|s|n, occurrence=f|l|a, aggregator=,|/s|C, escape=y|n, bom=y|n.
    #[arg(short = 'E', value_name = "NAME=VALUE")]
    fields_layout: Vec<String>,

    /// Print Wireshark's protocol tree for every frame.
    #[arg(short = 'V')]
    verbose: bool,

    /// Display filter in Wireshark's language: only frames (messages with --messages) it
    /// selects are printed, e.g. -Y 'websocket.opcode == 1 && websocket.payload.text contains "error"'.
    #[arg(short = 'Y', value_name = "FILTER", allow_hyphen_values = true)]
    display_filter: Option<String>,

    /// Stop after this many WebSocket frames (messages with --messages).
    #[arg(short = 'c', value_name = "N")]
    count: Option<u64>,

    /// Treat a port as WebSocket without a handshake: tcp.port==N,websocket (N is the server).
    #[arg(short = 'd', value_name = "tcp.port==N,websocket")]
    decode_as: Vec<String>,

    /// Do not look for WebSocket frames on connections the capture joined after their
    /// handshake (found ones are marked websocket.heuristic).
    #[arg(long)]
    no_heuristics: bool,

    /// TLS key log (NSS format: SSLKEYLOGFILE from browsers, curl, Python, node, OpenSSL) to
    /// decrypt wss:// connections; repeat for several. Secrets inside a pcapng are used too.
    #[arg(long, value_name = "FILE")]
    keylog: Vec<String>,

    /// A preference, as tshark's -o: tls.keylog_file:FILE is --keylog FILE,
    /// websocket.text_type:"As json" is --text-as json, wsdissect.payload_limit:N is
    /// --payload-limit N (see --list-preferences).
    #[arg(short = 'o', value_name = "NAME:VALUE")]
    preferences: Vec<String>,

    /// List every field with its type and description, then exit.
    #[arg(long)]
    list_fields: bool,

    /// List the preferences -o takes, then exit.
    #[arg(long)]
    list_preferences: bool,

    /// Print the Elasticsearch/OpenSearch index template for -T ek (the fields' types), then exit.
    #[arg(long)]
    ek_template: bool,

    /// Out-of-order bytes buffered per connection direction before a hole is given up.
    #[arg(long, value_name = "BYTES", default_value_t = Config::default().reassembly_limit)]
    reassembly_limit: usize,

    /// Payload bytes kept per frame and per message (larger ones are shown cut and not inflated).
    #[arg(long, value_name = "BYTES", default_value_t = Config::default().payload_cap)]
    payload_limit: usize,

    /// Inflated bytes per compressed message; inflating stops there and the message is flagged.
    #[arg(long, value_name = "BYTES", default_value_t = Config::default().inflate_cap)]
    inflate_limit: usize,

    /// Inflated bytes per compressed byte beyond which (past 1 MiB) inflating stops: a bomb.
    #[arg(long, value_name = "RATIO", default_value_t = Config::default().inflate_ratio)]
    inflate_ratio: u32,

    /// TCP connections followed at once; beyond, the least recently active are forgotten.
    #[arg(long, value_name = "N", default_value_t = Config::default().max_connections)]
    max_connections: usize,

    /// Threads for a capture file: with 2 (the default on a machine with two cores or more), one
    /// decodes TCP and frame headers while the other joins, inflates, filters and prints (the
    /// first also inflates compressed connections, handing them over one by one while the
    /// other waits for work), and a helper reads the file ahead of them.
    /// Standard input, and -c, use one thread, so that output comes as soon as it can.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=2))]
    threads: Option<u8>,

    /// One record per complete message (fragments joined, inflated) instead of per frame.
    #[arg(long)]
    messages: bool,

    /// How -V shows text payloads: as lines, or as a JSON tree when they are JSON.
    #[arg(long, value_enum, value_name = "HOW", default_value_t = TextAsArg::Lines)]
    text_as: TextAsArg,

    /// Indent -T json output (the default when standard output is a terminal).
    #[arg(long)]
    pretty: bool,

    /// Instead of frames: one row per WebSocket connection (a table, or JSON with -T json/jsonl).
    #[arg(long, conflicts_with_all = ["stats", "follow", "messages", "verbose"])]
    connections: bool,

    /// Instead of frames: opcode counts, message sizes and messages per second (or JSON).
    #[arg(long, conflicts_with_all = ["follow", "messages", "verbose"])]
    stats: bool,

    /// Instead of frames: the conversation of one connection (tcp.stream) as messages; over
    /// HTTP/2, `STREAM:ID` follows the WebSocket on stream ID alone (http2.streamid).
    #[arg(long, value_name = "STREAM[:ID]", conflicts_with_all = ["messages", "verbose"])]
    follow: Option<FollowTarget>,

    /// Write the packets that carried the selected frames to FILE (pcapng if the input is
    /// pcapng, pcap otherwise) instead of printing; needs a capture file, not standard input.
    #[arg(short = 'w', value_name = "FILE", conflicts_with_all = ["connections", "stats", "follow", "verbose"])]
    write: Option<String>,

    /// With -w, also write each connection's packets up to its handshake, so the file is
    /// WebSocket on its own.
    #[arg(long, requires = "write")]
    with_handshake: bool,

    /// How JSON writes byte strings (payloads, binary messages).
    #[arg(long, value_enum, value_name = "ENCODING", default_value_t = BytesArg::Hex)]
    bytes: BytesArg,
}

/// `--bytes` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BytesArg {
    /// Lowercase hex.
    Hex,
    /// Standard base64.
    Base64,
}

/// `--text-as` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TextAsArg {
    /// Line-based text data.
    Lines,
    /// JavaScript Object Notation tree (as tshark's websocket.text_type "As json").
    Json,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One summary line per frame (or the tree with -V).
    Text,
    /// Tab-separated values of the -e fields.
    Fields,
    /// A JSON array of frames (or messages), schema in schema/.
    Json,
    /// One JSON object per line, streamed.
    Jsonl,
    /// tshark's Elasticsearch bulk format: an index line, then a document (-e restricts it).
    Ek,
}

/// How each frame is printed.
enum Printer {
    Summary,
    Tree(TextAs),
    Fields(Vec<&'static Field>, FieldsLayout),
    /// `-T ek`: these fields, or every field.
    Ek(Vec<&'static Field>),
    MessageLines,
    FrameJson(JsonWriter),
    MessageJson(JsonWriter),
    /// `--connections`: rows printed at the end (as JSON with a writer).
    Connections(ConnectionTable, Option<JsonWriter>),
    /// `--stats`: printed at the end (as JSON with a writer).
    Stats(StatsCollector, Option<JsonWriter>),
    /// `--follow STREAM[:ID]`; the flag says whether the header is out.
    Follow(FollowTarget, bool),
    /// `-w`: packet ranges to copy in a second pass.
    Write(Selection),
}

/// Packets to copy with `-w`: per connection (its two endpoints, in order), ranges of packet
/// numbers; a packet of the connection inside a range is copied.
#[derive(Debug, Default)]
struct Selection {
    ranges: HashMap<FlowKey, Vec<(u64, u64)>>,
    with_handshake: bool,
    handshakes_added: HashSet<u32>,
    /// Client randoms of the TLS connections written, whose secrets go with them.
    tls_randoms: HashSet<[u8; 32]>,
}

impl Selection {
    fn add(&mut self, c: &ConnectionInfo, first: u64, last: u64) {
        let ranges = self.ranges.entry(flow_key(c.client, c.server)).or_default();
        match ranges.last_mut() {
            // Frames come mostly in order: extend the last range when they touch.
            Some(r) if first <= r.1 + 1 && last + 1 >= r.0 => *r = (r.0.min(first), r.1.max(last)),
            _ => ranges.push((first, last)),
        }
    }

    fn frame(&mut self, f: &Frame<'_>) {
        let c = f.connection;
        if self.with_handshake && self.handshakes_added.insert(c.stream) {
            let end = c.handshake.as_ref().map_or(c.first_packet, |h| h.response_packet);
            self.add(c, c.first_packet, end);
        }
        // A compressed message may refer to every earlier one of its direction (context
        // takeover), and a TLS record needs the handshake and every record before it: then all
        // of the connection up to the frame is needed to read it again. A control frame, or a
        // message sent uncompressed, needs only the handshake.
        let tls = c.tls.as_deref();
        if let Some(random) = tls.and_then(|t| t.client_random) {
            self.tls_randoms.insert(random);
        }
        let compressed = !f.header.opcode.is_control() && f.message.is_none_or(|m| m.compressed);
        let needs_history = tls.is_some() || (compressed && c.deflate.is_some_and(|p| !p.sender(f.from_client).0));
        let first = if needs_history { c.first_packet } else { f.first_packet.min(f.packet.number) };
        self.add(c, first, f.packet.number);
    }

    fn contains(&self, seg: &TcpSegment<'_>, number: u64) -> bool {
        let key = flow_key(Endpoint { ip: seg.src, port: seg.src_port }, Endpoint { ip: seg.dst, port: seg.dst_port });
        self.ranges.get(&key).is_some_and(|r| r.iter().any(|(lo, hi)| (*lo..=*hi).contains(&number)))
    }
}

/// The second pass of `-w`: copies the selected packets of `path` to `out_path`, and into a
/// pcapng the secrets of the TLS connections copied.
fn write_selected(paths: &[String], out_path: &str, selection: &Selection, keys: &KeyLog) -> anyhow::Result<u64> {
    let mut reader = CaptureSet::open(paths).map_err(|(path, e)| anyhow!("cannot open {path}: {e}"))?;
    let out = File::create(out_path).with_context(|| format!("cannot create {out_path}"))?;
    let mut writer = CaptureWriter::new(BufWriter::new(out), reader.is_pcapng());
    let secrets: String = selection.tls_randoms.iter().map(|r| keys.lines_for(r)).collect();
    if !secrets.is_empty()
        && !writer.write_secrets(secrets.as_bytes()).with_context(|| format!("writing {out_path}"))?
    {
        eprintln!("wsdissect: {out_path} is pcap, which cannot hold TLS secrets: read it with the same --keylog");
    }
    let mut written = 0;
    let mut link_type = 1;
    while let Ok(Some(block)) = reader.next_block() {
        let Block::Packet(record) = block else { continue };
        link_type = record.link_type;
        if net::decode(record.link_type, record.data).is_ok_and(|seg| selection.contains(&seg, record.number)) {
            writer.write(&record).with_context(|| format!("writing {out_path}"))?;
            written += 1;
        }
    }
    writer.finish(link_type).with_context(|| format!("writing {out_path}"))?;
    Ok(written)
}

/// The capture files named on the command line, in order: a directory stands for the files in
/// it, a pattern (`ring*`, quoted so the shell leaves it) for the files it matches, each sorted
/// by name; `-` (standard input) only alone.
fn capture_paths<'a>(args: impl Iterator<Item = &'a String>) -> anyhow::Result<Vec<String>> {
    let mut paths = Vec::new();
    for arg in args {
        let path = std::path::Path::new(arg);
        let found: Vec<std::path::PathBuf> = if path.is_dir() {
            let entries = std::fs::read_dir(path).with_context(|| format!("cannot read directory {arg}"))?;
            entries.filter_map(|e| e.ok().map(|e| e.path())).collect()
        } else if !path.exists() && arg.contains(['*', '?', '[']) {
            glob::glob(arg).map_err(|e| anyhow!("{arg}: {e}"))?.filter_map(Result::ok).collect()
        } else {
            paths.push(arg.clone());
            continue;
        };
        let mut files: Vec<String> = found.iter().filter(|p| p.is_file()).map(|p| p.display().to_string()).collect();
        if files.is_empty() {
            bail!("{arg}: no capture file there");
        }
        files.sort();
        paths.extend(files);
    }
    if paths.len() > 1 && paths.iter().any(|p| p == "-") {
        bail!("standard input (-) cannot be read with other files");
    }
    Ok(paths)
}

/// Opens the live capture `-i`, `-f`, `-a` and `-w` ask for.
fn open_live(args: &Args) -> anyhow::Result<LiveCapture> {
    let filter = match &args.capture_filter {
        Some(text) => Some(CaptureFilter::compile(text).map_err(|e| anyhow!("-f: {e}"))?),
        None => None,
    };
    let mut duration = None;
    let mut packets = None;
    for condition in &args.autostop {
        match condition.split_once(':') {
            Some(("duration", n)) => {
                let seconds: f64 = n.parse().map_err(|_| anyhow!("-a {condition}: duration:SECONDS"))?;
                duration =
                    Some(std::time::Duration::try_from_secs_f64(seconds).map_err(|e| anyhow!("-a {condition}: {e}"))?);
            }
            Some(("packets", n)) => packets = Some(n.parse::<u64>().map_err(|_| anyhow!("-a {condition}: packets:N"))?),
            _ => bail!("-a {condition}: duration:SECONDS or packets:N"),
        }
    }
    let mut capture = LiveCapture::open(&args.interface, filter, duration, packets)?;
    if let Some(path) = &args.write {
        capture.save_to(File::create(path).with_context(|| format!("cannot create {path}"))?);
    }
    Ok(capture)
}

/// Preferences `-o` knows: tshark's that map to what wsdissect does, and a `wsdissect.` spelling
/// of each of its own settings. With what each takes, for `--list-preferences`.
const PREFERENCES: &[(&str, &str)] = &[
    ("tls.keylog_file", "FILE: a TLS key log, as --keylog (also ssl.keylog_file)"),
    ("websocket.text_type", "No subdissection | Line based text | As json | As SIP: how -V shows text (--text-as)"),
    ("tcp.desegment_tcp_streams", "TRUE: frames are read across TCP segments (always)"),
    ("tcp.reassemble_out_of_order", "TRUE: segments are put in order before reading (always)"),
    ("tcp.analyze_sequence_numbers", "TRUE: gaps, retransmissions and overlaps are found (always)"),
    ("wsdissect.reassembly_limit", "BYTES: as --reassembly-limit"),
    ("wsdissect.payload_limit", "BYTES: as --payload-limit"),
    ("wsdissect.inflate_limit", "BYTES: as --inflate-limit"),
    ("wsdissect.inflate_ratio", "RATIO: as --inflate-ratio"),
    ("wsdissect.max_connections", "N: as --max-connections"),
    ("wsdissect.threads", "1 | 2: as --threads"),
    ("wsdissect.heuristics", "TRUE | FALSE: FALSE as --no-heuristics"),
];

/// Applies the `-o NAME:VALUE` preferences to the flags they spell.
fn apply_preferences(args: &mut Args) -> anyhow::Result<()> {
    for pref in std::mem::take(&mut args.preferences) {
        let (name, value) = pref.split_once(':').ok_or_else(|| anyhow!("-o {pref:?}: expected NAME:VALUE"))?;
        let bad = |why: &str| anyhow!("-o {pref:?}: {why}");
        let number = || value.trim().parse::<usize>().map_err(|_| bad("expected a number"));
        let boolean = || match value.trim().to_ascii_uppercase().as_str() {
            "TRUE" => Ok(true),
            "FALSE" => Ok(false),
            _ => Err(bad("expected TRUE or FALSE")),
        };
        match name {
            "tls.keylog_file" | "ssl.keylog_file" => args.keylog.push(value.to_string()),
            "websocket.text_type" => {
                args.text_as = match value.trim().to_ascii_lowercase().as_str() {
                    "no subdissection" | "line based text" => TextAsArg::Lines,
                    "as json" => TextAsArg::Json,
                    "as sip" => {
                        eprintln!("wsdissect: -o {pref:?}: SIP is not dissected; text is shown as lines");
                        TextAsArg::Lines
                    }
                    _ => return Err(bad("one of No subdissection, Line based text, As json, As SIP")),
                }
            }
            "tcp.desegment_tcp_streams" | "tcp.reassemble_out_of_order" | "tcp.analyze_sequence_numbers" => {
                if !boolean()? {
                    return Err(bad(
                        "wsdissect always puts TCP segments in order and reads frames across them, tracking \
                         sequence numbers to find gaps; only TRUE is accepted",
                    ));
                }
            }
            "wsdissect.reassembly_limit" => args.reassembly_limit = number()?,
            "wsdissect.payload_limit" => args.payload_limit = number()?,
            "wsdissect.inflate_limit" => args.inflate_limit = number()?,
            "wsdissect.inflate_ratio" => {
                args.inflate_ratio = u32::try_from(number()?).map_err(|_| bad("expected a ratio"))?
            }
            "wsdissect.max_connections" => args.max_connections = number()?,
            "wsdissect.threads" => {
                args.threads = Some(match number()? {
                    n @ (1 | 2) => n as u8,
                    _ => return Err(bad("expected 1 or 2")),
                })
            }
            "wsdissect.heuristics" => args.no_heuristics = !boolean()?,
            _ => {
                let near = fields::closest_among(name, PREFERENCES.iter().map(|(n, _)| *n));
                let hint = if near.is_empty() { String::new() } else { format!("; did you mean {}?", near.join(", ")) };
                bail!("-o {pref:?}: unknown preference {name:?}{hint} (see --list-preferences)")
            }
        }
    }
    Ok(())
}

/// Reads the key logs: a file that cannot be read or holds no secret is an error (exit 2);
/// bad lines in a good file are counted in a warning.
fn read_keylogs(files: &[String]) -> anyhow::Result<KeyLog> {
    let mut keys = KeyLog::default();
    for file in files {
        let report = keys.add_file(file)?;
        if let Some((line, why)) = &report.first_bad {
            eprintln!(
                "wsdissect: warning: {file}: {} lines not understood (first: line {line}: {why}); {} secrets read",
                report.bad, report.valid
            );
        }
    }
    Ok(keys)
}

/// Parses `tcp.port==N,websocket` (spaces allowed, as tshark does).
fn parse_decode_as(spec: &str) -> anyhow::Result<u16> {
    let compact: String = spec.chars().filter(|c| !c.is_whitespace()).collect();
    let rest = compact
        .strip_prefix("tcp.port==")
        .and_then(|r| r.strip_suffix(",websocket"))
        .ok_or_else(|| anyhow!("-d {spec:?}: expected tcp.port==N,websocket"))?;
    rest.parse().map_err(|_| anyhow!("-d {spec:?}: {rest:?} is not a TCP port"))
}

/// The layout `-E` options ask for.
fn fields_layout(options: &[String]) -> anyhow::Result<FieldsLayout> {
    let mut layout = FieldsLayout::default();
    for option in options {
        layout.set(option).map_err(|why| anyhow!("-E {option:?}: {why}"))?;
    }
    Ok(layout)
}

fn resolve_fields(names: &[String]) -> anyhow::Result<Vec<&'static Field>> {
    if names.is_empty() {
        bail!("-T fields needs at least one -e FIELD (see --list-fields)");
    }
    names
        .iter()
        .map(|name| {
            fields::lookup(name).ok_or_else(|| {
                let near = fields::closest(name);
                if near.is_empty() {
                    anyhow!("unknown field {name:?} (see --list-fields)")
                } else {
                    anyhow!("unknown field {name:?}; did you mean {}?", near.join(", "))
                }
            })
        })
        .collect()
}

/// Runs the command line; errors returned here are usage errors (exit 2).
pub fn run() -> anyhow::Result<u8> {
    let mut args = Args::parse();
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    if args.list_fields {
        return finish_output(output::write_field_list(&mut out).and_then(|_| out.flush()), EXIT_OK);
    }
    if args.list_preferences {
        let list: String = PREFERENCES.iter().map(|(name, what)| format!("{name}\t{what}\n")).collect();
        return finish_output(out.write_all(list.as_bytes()).and_then(|_| out.flush()), EXIT_OK);
    }
    if args.ek_template {
        let template = serde_json::to_string_pretty(&output::ek::template()).expect("JSON") + "\n";
        return finish_output(out.write_all(template.as_bytes()).and_then(|_| out.flush()), EXIT_OK);
    }
    apply_preferences(&mut args)?;
    let text_as = match args.text_as {
        TextAsArg::Lines => TextAs::Lines,
        TextAsArg::Json => TextAs::Json,
    };
    let pretty = args.pretty || io::stdout().is_terminal();
    let json = match args.format {
        Format::Json | Format::Jsonl => Some(JsonWriter::new(args.format == Format::Json, pretty)),
        _ => None,
    };
    let printer = match (args.format, args.verbose, args.messages) {
        _ if args.connections => Printer::Connections(ConnectionTable::default(), json),
        _ if args.stats => Printer::Stats(StatsCollector::default(), json),
        _ if args.follow.is_some() => Printer::Follow(args.follow.unwrap_or_default(), false),
        _ if args.write.is_some() && args.interface.is_empty() => {
            Printer::Write(Selection { with_handshake: args.with_handshake, ..Selection::default() })
        }
        (Format::Fields, _, _) => Printer::Fields(resolve_fields(&args.fields)?, fields_layout(&args.fields_layout)?),
        (Format::Ek, _, _) if args.fields.is_empty() => Printer::Ek(Vec::new()),
        (Format::Ek, _, _) => Printer::Ek(resolve_fields(&args.fields)?),
        (Format::Json | Format::Jsonl, _, messages) => {
            let writer = JsonWriter::new(args.format == Format::Json, pretty);
            if messages { Printer::MessageJson(writer) } else { Printer::FrameJson(writer) }
        }
        (Format::Text, true, _) => Printer::Tree(text_as),
        (Format::Text, false, true) => Printer::MessageLines,
        (Format::Text, false, false) => Printer::Summary,
    };
    if !args.fields.is_empty() && !matches!(args.format, Format::Fields | Format::Ek) {
        bail!("-e is used with -T fields or -T ek");
    }
    if !args.fields_layout.is_empty() && args.format != Format::Fields {
        bail!("-E is used with -T fields");
    }
    let filter = match &args.display_filter {
        Some(expr) => Some(Filter::compile(expr).map_err(|e| anyhow!("-Y: {}", e.render(expr)))?),
        None => None,
    };
    let decode_as_ports = args.decode_as.iter().map(|s| parse_decode_as(s)).collect::<anyhow::Result<Vec<u16>>>()?;
    let keylog_files = args.keylog.clone();
    let keylog_given = !keylog_files.is_empty();
    let mut keylog = read_keylogs(&keylog_files)?;
    let live = !args.interface.is_empty();
    if !live && (args.capture_filter.is_some() || !args.autostop.is_empty()) {
        bail!("-f and -a apply to a live capture (-i IFACE); to select frames of a file use -Y");
    }
    let paths = if live { Vec::new() } else { capture_paths(args.read_file.iter().chain(&args.file))? };
    let stdin = paths == ["-"];
    if args.write.is_some() && stdin {
        bail!("-w reads the capture twice: give a capture file, not standard input");
    }
    // Secrets inside a pcapng may follow the records they decrypt: gather them first.
    for path in paths.iter().filter(|_| !stdin) {
        let mut file = File::open(path).with_context(|| format!("cannot open {path}"))?;
        for secrets in capture::scan_secrets(&mut file).with_context(|| format!("reading {path}"))? {
            keylog.add_text(&secrets);
        }
    }
    let mut progress = None;
    let source: Option<Box<dyn Read + Send>> = match paths.as_slice() {
        [stdin] if stdin == "-" => Some(Box::new(io::stdin())),
        [path] => {
            let file = File::open(path).with_context(|| format!("cannot open {path}"))?;
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            Some(match progress_bar(size) {
                Some(bar) => {
                    progress = Some(bar.clone());
                    Box::new(bar.wrap_read(file))
                }
                None => Box::new(file),
            })
        }
        // A set, or a live capture, is opened below.
        _ => None,
    };
    let name = if live { args.interface.join(", ") } else { paths.join(", ") };
    // Payloads are kept (and unmasked) only when something will print or test them.
    let payload_cap = match &printer {
        Printer::Fields(fields, _)
            if !fields.iter().any(|f| f.reads_payload()) && !filter.as_ref().is_some_and(Filter::reads_payload) =>
        {
            0
        }
        _ => args.payload_limit,
    };
    // Header values are read only for what shows them: -V's link line, fields, filters.
    let packet_headers = match &printer {
        Printer::Fields(fields, _) => fields.iter().any(|f| f.reads_headers()),
        Printer::Ek(fields) => fields.is_empty() || fields.iter().any(|f| f.reads_headers()),
        Printer::Tree(_) => true,
        _ => false,
    } || filter.as_ref().is_some_and(Filter::reads_headers);
    // Frames are joined into messages and checked unless only header fields are shown.
    let messages = match &printer {
        Printer::Fields(fields, _) => args.messages || fields.iter().any(|f| f.reads_messages()),
        _ => true,
    } || filter.as_ref().is_some_and(Filter::reads_messages);
    let config = Config {
        reassembly_limit: args.reassembly_limit,
        payload_cap,
        inflate_cap: args.inflate_limit,
        inflate_ratio: args.inflate_ratio,
        decode_as_ports,
        max_connections: args.max_connections,
        keylog,
        heuristics: !args.no_heuristics,
        packet_headers,
        messages,
    };
    let dissector = match source {
        Some(source) => Dissector::from_reader(source).map_err(|e| anyhow!("{name}: {e}"))?.with_file_name(&name),
        None if live => {
            let capture = open_live(&args)?;
            // As tshark: the capture runs from here (scripts wait for this line).
            eprintln!(
                "wsdissect: capturing on {}",
                args.interface.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(", ")
            );
            Dissector::from_live(capture)
        }
        None => {
            let set = CaptureSet::open(&paths).map_err(|(path, e)| anyhow!("cannot open {path}: {e}"))?;
            if set.damaged().len() == paths.len() {
                let (_, e) = &set.damaged()[0];
                bail!("{}: {e} (and no other file of the set is a capture)", paths[0]);
            }
            Dissector::from_set(set)
        }
    };
    let mut dissector = dissector.with_config(config);

    let mut sink = Sink {
        out,
        printer,
        ctx: Context::default(),
        messages_only: args.messages,
        flush_each: false,
        bytes: match args.bytes {
            BytesArg::Hex => BytesAs::Hex,
            BytesArg::Base64 => BytesAs::Base64,
        },
        filter,
        limit: args.count.unwrap_or(u64::MAX),
        printed: 0,
        result: Ok(()),
    };
    if let Printer::Fields(fields, layout) = &sink.printer {
        sink.result = layout.write_start(&mut sink.out, fields);
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = args.threads.map_or(cores.min(2), usize::from);
    // With -c, reading stops right after the last frame wanted, as one thread does it; live,
    // each frame is printed as soon as its last packet is read.
    let parallel = threads > 1 && !stdin && !live && args.count.is_none();
    sink.flush_each = live;
    let damage = if parallel { dissector.run_parallel(&mut sink) } else { dissector.run(&mut sink) };
    let mut damage: Vec<String> = damage.err().map(|e| format!("{name}: {e}")).into_iter().collect();
    damage.extend(
        dissector.damaged_files().iter().map(|(i, e)| format!("{}: {e}; the rest of the set was read", paths[*i])),
    );
    sink.finish();
    if let Some(capture) = dissector.live_mut() {
        capture.finish_saving().with_context(|| format!("writing {}", args.write.as_deref().unwrap_or("")))?;
        if let Some(out_path) = &args.write {
            eprintln!("wsdissect: wrote {} packets to {out_path}", capture.packets_read());
        }
    }
    if let (Printer::Write(selection), Some(out_path)) = (&sink.printer, &args.write) {
        let written = write_selected(&paths, out_path, selection, dissector.keylog())?;
        eprintln!("wsdissect: wrote {written} packets to {out_path}");
    }
    let flushed = sink.result.and_then(|_| sink.out.flush());
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let stats = dissector.stats();
    report_stats(&stats);
    report_tls(&stats.tls, !keylog_given);
    report_http2(&stats.http2);
    // A damaged file cuts messages short; its one warning says why.
    if damage.is_empty() {
        report_unfinished(&stats);
    }
    for msg in &damage {
        if paths.len() == 1 {
            eprintln!("wsdissect: warning: {msg}; the {} packets before it were analysed", dissector.packets_read());
        } else {
            eprintln!("wsdissect: warning: {msg}");
        }
    }
    // Records that fail their check are damage too: wrong keys, or altered bytes.
    let damaged = !damage.is_empty() || stats.tls.failed_records > 0;
    // The process ends here: the state of every connection (with 10,000 open, 120,000
    // allocations) goes back to the system at once rather than freed one by one.
    std::mem::forget(dissector);
    finish_output(flushed, if damaged { EXIT_DAMAGED } else { EXIT_OK })
}

/// Where frames go: the printer, the `-c` count and the first write error.
struct Sink<W: Write> {
    out: W,
    printer: Printer,
    ctx: Context,
    /// `--messages`: only frames that complete a message are printed.
    messages_only: bool,
    /// Live capture: each frame is flushed as soon as it is printed.
    flush_each: bool,
    /// `-Y`: only frames it selects are printed (and handshakes are not).
    filter: Option<Filter>,
    /// How JSON writes bytes.
    bytes: BytesAs,
    limit: u64,
    printed: u64,
    result: io::Result<()>,
}

impl<W: Write> Output for Sink<W> {
    fn capture_start(&mut self, ctx: &Context) {
        self.ctx = ctx.clone();
    }

    fn done(&self) -> bool {
        Sink::done(self)
    }

    fn frame(&mut self, frame: &Frame<'_>) {
        if self.done() || (self.messages_only && frame.message.is_none()) {
            return;
        }
        if self.filter.as_ref().is_some_and(|f| !f.matches(&self.ctx, frame)) {
            return;
        }
        self.printed += 1;
        let ctx = &self.ctx;
        self.result = match &mut self.printer {
            Printer::Connections(table, _) => {
                table.frame(frame);
                Ok(())
            }
            Printer::Stats(stats, _) => {
                stats.frame(frame, ctx.first_ts);
                Ok(())
            }
            Printer::Follow(target, _) if !target.selects(frame.connection) || frame.message.is_none() => {
                self.printed -= 1;
                Ok(())
            }
            Printer::Write(selection) => {
                selection.frame(frame);
                Ok(())
            }
            Printer::Follow(target, started) => {
                let every_stream = target.http2_stream.is_none();
                let header = if *started {
                    Ok(())
                } else {
                    output::follow::write_follow_header(&mut self.out, frame, every_stream)
                };
                *started = true;
                header.and_then(|_| output::follow::write_follow_message(&mut self.out, ctx, frame))
            }
            Printer::Summary => output::write_summary_line(&mut self.out, &self.ctx, frame),
            Printer::Tree(text_as) => output::tree::write_frame_tree(&mut self.out, frame, *text_as),
            Printer::Fields(fields, layout) => {
                output::write_fields_line(&mut self.out, &self.ctx, layout, fields, frame)
            }
            Printer::Ek(fields) => output::ek::write_frame(&mut self.out, &self.ctx, fields, frame),
            Printer::MessageLines => output::messages::write_message_line(&mut self.out, &self.ctx, frame),
            Printer::FrameJson(json) => {
                json.write(&mut self.out, &output::json::frame_record(&self.ctx, frame, self.bytes))
            }
            Printer::MessageJson(json) => match MessageRecord::of(frame, self.bytes) {
                Some(record) => json.write(&mut self.out, &record),
                None => Ok(()),
            },
        };
        if self.flush_each {
            self.result = std::mem::replace(&mut self.result, Ok(())).and_then(|_| self.out.flush());
        }
    }

    fn handshake(&mut self, handshake: &HandshakeEvent<'_>) {
        if self.done() || self.filter.is_some() {
            return;
        }
        self.result = match &mut self.printer {
            Printer::Connections(table, _) => {
                table.handshake(handshake);
                Ok(())
            }
            Printer::Summary | Printer::MessageLines => {
                output::write_handshake_line(&mut self.out, &self.ctx, handshake)
            }
            Printer::Tree(_) => output::tree::write_handshake_tree(&mut self.out, handshake),
            Printer::Fields(..)
            | Printer::Ek(_)
            | Printer::FrameJson(_)
            | Printer::MessageJson(_)
            | Printer::Stats(..)
            | Printer::Follow(..)
            | Printer::Write(_) => Ok(()),
        };
    }
}

impl<W: Write> Sink<W> {
    /// Ends the output: closes a JSON array, prints the tables collected.
    fn finish(&mut self) {
        if self.result.is_err() {
            return;
        }
        let out = &mut self.out;
        self.result = match &mut self.printer {
            Printer::FrameJson(json) | Printer::MessageJson(json) => json.finish(out),
            Printer::Connections(table, None) => table.write_text(out),
            Printer::Connections(table, Some(json)) => {
                table.rows().try_for_each(|row| json.write(out, &row)).and_then(|_| json.finish(out))
            }
            Printer::Stats(stats, None) => stats.report().write_text(out),
            Printer::Stats(stats, Some(json)) => json.write(out, &stats.report()).and_then(|_| json.finish(out)),
            _ => Ok(()),
        };
    }

    /// `-c` reached, or output failed (a closed pipe): stop reading.
    fn done(&self) -> bool {
        self.printed >= self.limit || self.result.is_err()
    }
}

/// Files at least this big get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

/// A progress bar on stderr for a long read, only when stderr is a terminal (never in pipes).
fn progress_bar(size: u64) -> Option<ProgressBar> {
    if size < PROGRESS_MIN_BYTES || !io::stderr().is_terminal() {
        return None;
    }
    let style = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}").ok()?;
    Some(ProgressBar::new(size).with_style(style))
}

/// A closed pipe (`| head`) is a normal way to stop: exit quietly with 0.
fn finish_output(result: io::Result<()>, code: u8) -> anyhow::Result<u8> {
    match result {
        Ok(()) => Ok(code),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(EXIT_OK),
        Err(e) => Err(anyhow!("writing output: {e}")),
    }
}

/// Summarises on stderr what was skipped or repaired, when anything was.
fn report_stats(stats: &Stats) {
    let mut skipped = Vec::new();
    for (link, n) in &stats.unsupported_links {
        skipped.push(format!("{n} of unsupported link type {link}"));
    }
    for (n, what) in
        [(stats.not_ip, "not IP"), (stats.not_tcp, "not TCP"), (stats.ip_fragments, "IP fragments (not reassembled)")]
    {
        if n > 0 {
            skipped.push(format!("{n} {what}"));
        }
    }
    if stats.malformed > 0 {
        skipped.push(format!(
            "{} malformed (first: packet {})",
            stats.malformed,
            stats.first_malformed.unwrap_or_default()
        ));
    }
    if !skipped.is_empty() {
        eprintln!("wsdissect: {} packets skipped: {}", skipped_total(stats), skipped.join(", "));
    }
    let limits: Vec<String> = [
        (stats.payload_limit_hits, "frames over --payload-limit (the rest not kept)"),
        (stats.inflate_limit_hits, "messages over --inflate-limit"),
        (stats.inflate_ratio_hits, "messages over --inflate-ratio"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if !limits.is_empty() {
        eprintln!("wsdissect: limits reached: {}", limits.join(", "));
    }
    if stats.evicted > 0 {
        eprintln!(
            "wsdissect: {} connections forgotten at the --max-connections limit (the least recently active)",
            stats.evicted
        );
    }
    if stats.heuristic_connections > 0 {
        let history = match stats.history_before_capture {
            0 => String::new(),
            n => format!(
                "; {n} compressed messages not inflated: they may refer to what was sent before the capture \
                 began (permessage-deflate keeps a window across messages)"
            ),
        };
        eprintln!(
            "wsdissect: {} connections found from their frames, the capture holding no handshake for them \
             (websocket.heuristic; --no-heuristics to skip){history}",
            stats.heuristic_connections
        );
    }
    let r = &stats.reassembly;
    if r.gaps > 0 || r.conflicts > 0 || stats.cut_frames > 0 || stats.resync_skipped > 0 {
        eprintln!(
            "wsdissect: TCP: {} gaps ({} bytes lost), {} conflicting overlaps, {} buffer-limit hits; \
             {} frames cut, {} bytes skipped to find frame boundaries",
            r.gaps, r.gap_bytes, r.conflicts, r.limit_hits, stats.cut_frames, stats.resync_skipped
        );
    }
}

/// Says how many messages were begun and never ended, naming the connection of the first.
fn report_unfinished(stats: &Stats) {
    if let (n @ 1.., Some(key)) = (stats.unfinished_messages, stats.first_unfinished) {
        let (tcp, h2) = (key >> 32, key as u32);
        let at = if h2 == 0 { format!("tcp.stream {tcp}") } else { format!("tcp.stream {tcp}, HTTP/2 stream {h2}") };
        eprintln!(
            "wsdissect: {n} messages begun and never ended: their connection or stream ended (RST_STREAM \
             included), or the capture did (first: {at})"
        );
    }
}

/// Says which TLS connections were not decrypted and why, naming a few of each, and how to give
/// keys when none were given.
fn report_tls(tls: &TlsStats, no_keylog: bool) {
    let undecrypted: u64 = tls.undecrypted.iter().map(|(_, n, _)| n).sum();
    if undecrypted > 0 {
        eprintln!("wsdissect: TLS: {} of {} connections with records not decrypted:", undecrypted, tls.connections);
        for (problem, n, named) in &tls.undecrypted {
            let names: Vec<String> = named
                .iter()
                .map(|c| {
                    let sni = c.server_name.as_ref().map_or(String::new(), |s| format!(" (SNI {s})"));
                    format!("stream {} {} → {}{sni}", c.stream, c.client, c.server)
                })
                .collect();
            let more = if *n > named.len() as u64 { ", ..." } else { "" };
            eprintln!("wsdissect:   {n}: {problem}: {}{more}", names.join(", "));
        }
    }
    if tls.failed_records > 0 {
        eprintln!("wsdissect: TLS: {} records failed their integrity check and were skipped", tls.failed_records);
    }
    if undecrypted > 0 && no_keylog {
        eprintln!(
            "wsdissect: TLS: give the secrets with --keylog FILE: browsers, curl, Python and node write them \
             where SSLKEYLOGFILE says (see the README)"
        );
    }
}

/// Says what HTTP/2 connections held beside their WebSockets: refused WebSockets and breaches of
/// RFC 9113 or RFC 8441, naming the first few; or that they held none.
fn report_http2(h2: &Http2Stats) {
    if h2.connections == 0 || (h2.websockets > 0 && h2.refused_count == 0 && h2.problem_count == 0 && h2.resyncs == 0) {
        return;
    }
    eprintln!(
        "wsdissect: HTTP/2: {} connections, {} WebSockets (RFC 8441), {} other streams stepped over",
        h2.connections, h2.websockets, h2.other_streams
    );
    if h2.resyncs > 0 {
        eprintln!("wsdissect: HTTP/2: {} frame headers found again after holes that took one", h2.resyncs);
    }
    let more = |n: u64, named: usize| {
        if n > named as u64 { format!(" (and {} more)", n - named as u64) } else { String::new() }
    };
    for (tcp, stream, path, status, packet) in &h2.refused {
        eprintln!(
            "wsdissect: HTTP/2: WebSocket refused: tcp.stream {tcp}, stream {stream}, CONNECT {path}: {status} (packet {packet})"
        );
    }
    if h2.refused_count > 0 {
        eprintln!(
            "wsdissect: HTTP/2: {} WebSockets refused{}",
            h2.refused_count,
            more(h2.refused_count, h2.refused.len())
        );
    }
    for (problem, tcp, stream, packet) in &h2.problems {
        eprintln!("wsdissect: HTTP/2: {}: tcp.stream {tcp}, stream {stream} (packet {packet})", problem.describe());
    }
    if h2.problem_count > h2.problems.len() as u64 {
        eprintln!("wsdissect: HTTP/2: {} problems{}", h2.problem_count, more(h2.problem_count, h2.problems.len()));
    }
}

fn skipped_total(stats: &Stats) -> u64 {
    stats.unsupported_links.iter().map(|(_, n)| n).sum::<u64>()
        + stats.not_ip
        + stats.not_tcp
        + stats.ip_fragments
        + stats.malformed
}

/// What `--follow` follows: a TCP stream, or one WebSocket stream of an HTTP/2 connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct FollowTarget {
    tcp_stream: u32,
    http2_stream: Option<u32>,
}

impl FollowTarget {
    fn selects(&self, c: &ConnectionInfo) -> bool {
        c.stream == self.tcp_stream && self.http2_stream.is_none_or(|id| c.http2_stream == Some(id))
    }
}

impl std::str::FromStr for FollowTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (tcp, h2) = match s.split_once(':') {
            Some((tcp, h2)) => (tcp, Some(h2)),
            None => (s, None),
        };
        let number =
            |n: &str| n.trim().parse::<u32>().map_err(|_| format!("expected STREAM or STREAM:ID (numbers), got {s:?}"));
        Ok(FollowTarget { tcp_stream: number(tcp)?, http2_stream: h2.map(number).transpose()? })
    }
}

/// Maps the result of [`run`] to the process exit status.
pub fn exit_code(result: anyhow::Result<u8>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("wsdissect: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// clap checks flag definitions only in debug builds when parsing; check them always.
    #[test]
    fn flags_are_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn decode_as_syntax() {
        assert_eq!(parse_decode_as("tcp.port==9000,websocket").unwrap(), 9000);
        assert_eq!(parse_decode_as("tcp.port == 80 , websocket").unwrap(), 80);
        assert!(parse_decode_as("tcp.port==99999,websocket").is_err());
        assert!(parse_decode_as("udp.port==80,websocket").is_err());
    }
}

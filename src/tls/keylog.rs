//! The NSS key log format: the secrets browsers, curl, OpenSSL, Python, node, rustls and Go
//! write when `SSLKEYLOGFILE` (or their own option) asks, one per line:
//!
//! ```text
//! # comment
//! CLIENT_RANDOM <client random, 64 hex> <TLS 1.2 master secret, 96 hex>
//! CLIENT_TRAFFIC_SECRET_0 <client random> <TLS 1.3 secret, 64 or 96 hex>
//! ```
//!
//! Secrets are kept by the connection's client random, which every ClientHello carries in the
//! clear. Unknown labels (`RSA`, `CLIENT_EARLY_EXPORTER_SECRET`, ...) are skipped; malformed
//! lines are counted and the first one is named.
//!
//! ```
//! use wsdissect::tls::keylog::{KeyLog, Secret};
//! let mut log = KeyLog::default();
//! let report = log.add_text(b"# keys\nCLIENT_RANDOM 0101010101010101010101010101010101010101010101010101010101010101 \
//!     020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202\n");
//! assert_eq!((report.valid, report.bad), (1, 0));
//! assert_eq!(log.get(&[1; 32], Secret::Master).unwrap(), &[2; 48][..]);
//! ```

use std::collections::HashMap;
use std::path::Path;

/// The secrets a key log line can give, by their NSS labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// `CLIENT_RANDOM`: the TLS 1.0-1.2 master secret.
    Master,
    /// `CLIENT_EARLY_TRAFFIC_SECRET`: TLS 1.3 0-RTT data from the client.
    ClientEarly,
    /// `CLIENT_HANDSHAKE_TRAFFIC_SECRET`.
    ClientHandshake,
    /// `SERVER_HANDSHAKE_TRAFFIC_SECRET`.
    ServerHandshake,
    /// `CLIENT_TRAFFIC_SECRET_0`: the client's first application traffic secret.
    ClientApplication,
    /// `SERVER_TRAFFIC_SECRET_0`.
    ServerApplication,
    /// `EXPORTER_SECRET` (kept, not needed to decrypt).
    Exporter,
}

impl Secret {
    const ALL: [Secret; 7] = [
        Secret::Master,
        Secret::ClientEarly,
        Secret::ClientHandshake,
        Secret::ServerHandshake,
        Secret::ClientApplication,
        Secret::ServerApplication,
        Secret::Exporter,
    ];

    /// The label that introduces it in a key log.
    pub fn label(self) -> &'static str {
        match self {
            Secret::Master => "CLIENT_RANDOM",
            Secret::ClientEarly => "CLIENT_EARLY_TRAFFIC_SECRET",
            Secret::ClientHandshake => "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            Secret::ServerHandshake => "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            Secret::ClientApplication => "CLIENT_TRAFFIC_SECRET_0",
            Secret::ServerApplication => "SERVER_TRAFFIC_SECRET_0",
            Secret::Exporter => "EXPORTER_SECRET",
        }
    }

    /// This secret's key log line for a connection, newline included.
    pub fn line(self, client_random: &[u8; 32], secret: &[u8]) -> String {
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        format!("{} {} {}\n", self.label(), hex(client_random), hex(secret))
    }

    fn from_label(label: &[u8]) -> Option<Secret> {
        Secret::ALL.into_iter().find(|s| s.label().as_bytes() == label)
    }
}

/// What reading key log text found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyLogReport {
    /// Lines that gave a secret.
    pub valid: usize,
    /// Lines that are neither a secret, a comment, blank nor an unknown label.
    pub bad: usize,
    /// The first bad line: its number (from 1) and what is wrong with it.
    pub first_bad: Option<(usize, String)>,
}

/// Why a key log file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyLogError {
    /// The file cannot be read.
    #[error("cannot read key log {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not one line of the file is a secret.
    #[error("{path}: no TLS secret in it (expected NSS key log lines such as CLIENT_RANDOM <hex> <hex>){}", first_bad(.report))]
    Empty {
        /// The file.
        path: String,
        /// What was read.
        report: KeyLogReport,
    },
}

fn first_bad(report: &KeyLogReport) -> String {
    report.first_bad.as_ref().map(|(line, why)| format!("; line {line}: {why}")).unwrap_or_default()
}

/// One connection's secrets, indexed by [`Secret`].
type ConnectionSecrets = [Option<Box<[u8]>>; 7];

/// Secrets by client random: every key log given, and secrets found inside the capture.
#[derive(Debug, Clone, Default)]
pub struct KeyLog {
    secrets: HashMap<[u8; 32], ConnectionSecrets>,
}

impl KeyLog {
    /// Reads a key log file, adding its secrets. A file with no secret in it is an error.
    pub fn add_file(&mut self, path: impl AsRef<Path>) -> Result<KeyLogReport, KeyLogError> {
        let path = path.as_ref();
        let text =
            std::fs::read(path).map_err(|source| KeyLogError::Io { path: path.display().to_string(), source })?;
        let report = self.add_text(&text);
        if report.valid == 0 {
            return Err(KeyLogError::Empty { path: path.display().to_string(), report });
        }
        Ok(report)
    }

    /// Adds the secrets of key log text (from a file, or a pcapng Decryption Secrets Block).
    pub fn add_text(&mut self, text: &[u8]) -> KeyLogReport {
        let mut report = KeyLogReport::default();
        for (number, line) in text.split(|&b| b == b'\n').enumerate() {
            let line = line.trim_ascii();
            if line.is_empty() || line.starts_with(b"#") {
                continue;
            }
            match self.add_line(line) {
                Ok(true) => report.valid += 1,
                Ok(false) => {}
                Err(why) => {
                    report.bad += 1;
                    report.first_bad.get_or_insert((number + 1, why));
                }
            }
        }
        report
    }

    /// One line: Ok(true) for a secret, Ok(false) for a label that is not used here.
    fn add_line(&mut self, line: &[u8]) -> Result<bool, String> {
        let mut words = line.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty());
        let (Some(label), Some(random), Some(secret), None) = (words.next(), words.next(), words.next(), words.next())
        else {
            return Err("expected LABEL CLIENT_RANDOM SECRET".into());
        };
        let Some(kind) = Secret::from_label(label) else {
            // Other labels (RSA premaster secrets, exporters of 0-RTT) are valid but not used,
            // as long as they look like labels.
            return if label.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_') {
                Ok(false)
            } else {
                Err(format!("unknown label {:?}", String::from_utf8_lossy(label)))
            };
        };
        let random: [u8; 32] =
            decode_hex(random).and_then(|r| r.try_into().ok()).ok_or("the client random is not 64 hex digits")?;
        let secret = decode_hex(secret).ok_or("the secret is not hex")?;
        let expected: &[usize] = if kind == Secret::Master { &[48] } else { &[32, 48] };
        if !expected.contains(&secret.len()) {
            return Err(format!("a {} secret of {} bytes", kind.label(), secret.len()));
        }
        self.secrets.entry(random).or_default()[kind as usize] = Some(secret.into_boxed_slice());
        Ok(true)
    }

    /// The secret of kind `kind` for the connection with this client random.
    pub fn get(&self, client_random: &[u8; 32], kind: Secret) -> Option<&[u8]> {
        self.secrets.get(client_random)?[kind as usize].as_deref()
    }

    /// The key log lines of the connection with this client random (empty if none is known),
    /// for writing beside or into a capture.
    pub fn lines_for(&self, client_random: &[u8; 32]) -> String {
        let Some(secrets) = self.secrets.get(client_random) else { return String::new() };
        Secret::ALL
            .iter()
            .zip(secrets)
            .filter_map(|(kind, s)| s.as_ref().map(|s| kind.line(client_random, s)))
            .collect()
    }

    /// Whether any secret is known for the connection with this client random.
    pub fn knows(&self, client_random: &[u8; 32]) -> bool {
        self.secrets.contains_key(client_random)
    }

    /// Every TLS 1.3 handshake and application traffic secret (`CLIENT_HANDSHAKE_TRAFFIC_SECRET`
    /// ... `SERVER_TRAFFIC_SECRET_0`): its client random, its kind, the secret.
    pub fn traffic_secrets(&self) -> impl Iterator<Item = (&[u8; 32], Secret, &[u8])> {
        const TRAFFIC: [Secret; 4] =
            [Secret::ClientHandshake, Secret::ServerHandshake, Secret::ClientApplication, Secret::ServerApplication];
        self.secrets.iter().flat_map(|(random, secrets)| {
            TRAFFIC.into_iter().filter_map(move |kind| Some((random, kind, secrets[kind as usize].as_deref()?)))
        })
    }

    /// Whether the log holds no secret at all.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

fn decode_hex(hex: &[u8]) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    hex.chunks_exact(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANDOM: &str = "352a3fae4ccde1c9b428a66f5a2e0f62f241edb739c1f07e8ab4f4a2e5e4a7b1";

    fn line(label: &str, secret_len: usize) -> String {
        format!("{label} {RANDOM} {}\n", "ab".repeat(secret_len))
    }

    #[test]
    fn test_every_label() {
        let mut log = KeyLog::default();
        let text: String =
            Secret::ALL.iter().map(|s| line(s.label(), if *s == Secret::Master { 48 } else { 32 })).collect();
        let report = log.add_text(text.as_bytes());
        assert_eq!(report, KeyLogReport { valid: 7, bad: 0, first_bad: None });
        let random: [u8; 32] = decode_hex(RANDOM.as_bytes()).unwrap().try_into().unwrap();
        for s in Secret::ALL {
            assert!(log.get(&random, s).is_some(), "{s:?}");
        }
    }

    #[test]
    fn test_comments_blank_crlf_unknown_labels() {
        let mut log = KeyLog::default();
        let text = format!(
            "# TLS secrets log file\r\n\r\n   \nRSA 0102030405060708 {}\r\n{}CLIENT_EARLY_EXPORTER_SECRET {RANDOM} {}\n",
            "cd".repeat(48),
            line("SERVER_TRAFFIC_SECRET_0", 48).replace('\n', "\r\n"),
            "ef".repeat(32)
        );
        let report = log.add_text(text.as_bytes());
        assert_eq!((report.valid, report.bad), (1, 0));
    }

    #[test]
    fn test_bad_lines_counted_first_named() {
        let mut log = KeyLog::default();
        let text = format!(
            "{}CLIENT_RANDOM abc {}\nclient_random {RANDOM} {}\nCLIENT_RANDOM {RANDOM} {}\nCLIENT_RANDOM {RANDOM}\n",
            line("CLIENT_RANDOM", 48),
            "00".repeat(48),
            "00".repeat(48),
            "00".repeat(32)
        );
        let report = log.add_text(text.as_bytes());
        assert_eq!((report.valid, report.bad), (1, 4));
        let (number, why) = report.first_bad.unwrap();
        assert_eq!(number, 2);
        assert!(why.contains("client random"), "{why}");
    }

    #[test]
    fn test_sessions_appended_keep_each_random() {
        let mut log = KeyLog::default();
        let other = RANDOM.replace("35", "36");
        let text = format!("{}CLIENT_RANDOM {other} {}\n", line("CLIENT_RANDOM", 48), "11".repeat(48));
        assert_eq!(log.add_text(text.as_bytes()).valid, 2);
        let a: [u8; 32] = decode_hex(RANDOM.as_bytes()).unwrap().try_into().unwrap();
        let b: [u8; 32] = decode_hex(other.as_bytes()).unwrap().try_into().unwrap();
        assert_eq!(log.get(&a, Secret::Master).unwrap()[0], 0xab);
        assert_eq!(log.get(&b, Secret::Master).unwrap()[0], 0x11);
    }

    #[test]
    fn test_lines_for_read_back() {
        let mut log = KeyLog::default();
        let text = format!("{}{}", line("CLIENT_HANDSHAKE_TRAFFIC_SECRET", 32), line("SERVER_TRAFFIC_SECRET_0", 48));
        log.add_text(text.as_bytes());
        let random: [u8; 32] = decode_hex(RANDOM.as_bytes()).unwrap().try_into().unwrap();
        assert_eq!(log.lines_for(&random), text);
        assert_eq!(log.lines_for(&[0; 32]), "");
    }

    #[test]
    fn test_file_errors() {
        let mut log = KeyLog::default();
        let missing = log.add_file("/nonexistent/keys.txt").unwrap_err().to_string();
        assert!(missing.contains("/nonexistent/keys.txt"), "{missing}");
        let dir = std::env::temp_dir().join(format!("wsdissect-keylog-{}", std::process::id()));
        std::fs::write(&dir, "hello world\n").unwrap();
        let empty = log.add_file(&dir).unwrap_err().to_string();
        std::fs::remove_file(&dir).unwrap();
        assert!(empty.contains("no TLS secret") && empty.contains("line 1"), "{empty}");
    }
}

//! The two handshake messages sent in the clear that say how a connection is protected:
//! ClientHello (client random, SNI, ALPN offered) and ServerHello (version, cipher suite, ALPN
//! chosen, encrypt-then-MAC, extended master secret), read with rusticata's `tls-parser`.

use tls_parser::{SNIType, TlsExtension, TlsExtensionType, parse_tls_handshake_client_hello};
use tls_parser::{parse_tls_extensions, parse_tls_handshake_server_hello, parse_tls_server_hello_extensions};

/// TLS 1.3's ServerHello random that makes it a HelloRetryRequest (RFC 8446 section 4.1.3).
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Extension numbers checked by number, whatever tls-parser makes of them.
const EXT_ENCRYPT_THEN_MAC: u16 = 22;
const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
const EXT_EARLY_DATA: u16 = 42;

/// What a ClientHello offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// The client random: the key log's index.
    pub random: [u8; 32],
    /// The server name (SNI), when sent.
    pub server_name: Option<String>,
    /// Protocols offered by ALPN, in the client's order.
    pub alpn: Vec<String>,
    /// Whether the client sends 0-RTT data (TLS 1.3 `early_data`).
    pub early_data: bool,
}

/// What a ServerHello chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The server random.
    pub random: [u8; 32],
    /// The version field of the message (0x0303 in TLS 1.3 too).
    pub legacy_version: u16,
    /// The version in effect: `supported_versions` (TLS 1.3) or the legacy field.
    pub version: u16,
    /// The cipher suite.
    pub cipher_suite: u16,
    /// The protocol chosen by ALPN.
    pub alpn: Option<String>,
    /// RFC 7366 encrypt-then-MAC, which changes how CBC records are protected.
    pub encrypt_then_mac: bool,
    /// RFC 7627 extended master secret (the key log's master secret already accounts for it).
    pub extended_master_secret: bool,
    /// A TLS 1.3 HelloRetryRequest: another ClientHello and ServerHello follow.
    pub hello_retry: bool,
}

/// Reads a ClientHello body (after the 4-byte handshake header).
pub fn client_hello(body: &[u8]) -> Option<ClientHello> {
    let (_, hello) = parse_tls_handshake_client_hello(body).ok()?;
    let mut out =
        ClientHello { random: hello.random.try_into().ok()?, server_name: None, alpn: Vec::new(), early_data: false };
    let extensions = hello.ext.and_then(|e| parse_tls_extensions(e).ok()).map(|(_, e)| e).unwrap_or_default();
    for ext in &extensions {
        match ext {
            TlsExtension::SNI(names) => {
                out.server_name = names
                    .iter()
                    .find(|(kind, _)| *kind == SNIType::HostName)
                    .map(|(_, name)| String::from_utf8_lossy(name).into_owned());
            }
            TlsExtension::ALPN(protocols) => {
                out.alpn = protocols.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect();
            }
            other => out.early_data |= extension_number(other) == EXT_EARLY_DATA,
        }
    }
    Some(out)
}

/// Reads a ServerHello body (after the 4-byte handshake header).
pub fn server_hello(body: &[u8]) -> Option<ServerHello> {
    let (_, hello) = parse_tls_handshake_server_hello(body).ok()?;
    let random: [u8; 32] = hello.random.try_into().ok()?;
    let mut out = ServerHello {
        random,
        legacy_version: hello.version.0,
        version: hello.version.0,
        cipher_suite: hello.cipher.0,
        alpn: None,
        encrypt_then_mac: false,
        extended_master_secret: false,
        hello_retry: random == HELLO_RETRY_RANDOM,
    };
    let extensions =
        hello.ext.and_then(|e| parse_tls_server_hello_extensions(e).ok()).map(|(_, e)| e).unwrap_or_default();
    for ext in &extensions {
        match ext {
            TlsExtension::SupportedVersions(versions) => {
                if let Some(v) = versions.first() {
                    out.version = v.0;
                }
            }
            TlsExtension::ALPN(protocols) => {
                out.alpn = protocols.first().map(|p| String::from_utf8_lossy(p).into_owned());
            }
            other => match extension_number(other) {
                EXT_ENCRYPT_THEN_MAC => out.encrypt_then_mac = true,
                EXT_EXTENDED_MASTER_SECRET => out.extended_master_secret = true,
                _ => {}
            },
        }
    }
    Some(out)
}

/// The ALPN protocol a TLS 1.3 server chose, from its EncryptedExtensions body.
pub fn encrypted_extensions_alpn(body: &[u8]) -> Option<String> {
    let (_, extensions) = parse_tls_extensions(body.get(2..)?).ok()?;
    extensions.iter().find_map(|ext| match ext {
        TlsExtension::ALPN(protocols) => protocols.first().map(|p| String::from_utf8_lossy(p).into_owned()),
        _ => None,
    })
}

/// An extension's number on the wire. tls-parser 0.12 reads a ServerHello's type 21 (padding)
/// as encrypt-then-MAC and type 22 (encrypt-then-MAC) as unknown, so flags are told apart by
/// number, never by variant.
fn extension_number(ext: &TlsExtension<'_>) -> u16 {
    match ext {
        TlsExtension::Unknown(t, _) => t.0,
        // The server-hello parser's variant for type 21, which is padding, not a flag.
        TlsExtension::EncryptThenMac => 0,
        other => TlsExtensionType::from(other).0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello body with the given extensions (type, data).
    fn client_hello_body(extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = vec![0x03, 0x03];
        body.extend([7; 32]);
        body.extend([0, 0, 2, 0x13, 0x01, 1, 0]);
        let mut ext = Vec::new();
        for (t, data) in extensions {
            ext.extend(t.to_be_bytes());
            ext.extend((data.len() as u16).to_be_bytes());
            ext.extend(data);
        }
        body.extend((ext.len() as u16).to_be_bytes());
        body.extend(ext);
        body
    }

    #[test]
    fn test_client_hello_sni_alpn_early_data() {
        let sni = [&[0, 14, 0, 0, 11][..], b"example.com"].concat();
        let alpn = [&[0, 12, 2][..], b"h2", &[8], b"http/1.1"].concat();
        let hello = client_hello(&client_hello_body(&[(0, sni), (16, alpn), (42, vec![])])).unwrap();
        assert_eq!(hello.random, [7; 32]);
        assert_eq!(hello.server_name.as_deref(), Some("example.com"));
        assert_eq!(hello.alpn, ["h2", "http/1.1"]);
        assert!(hello.early_data);
        assert!(client_hello(&[3, 3, 1]).is_none());
    }

    #[test]
    fn test_server_hello_flags_by_number() {
        let mut body = vec![0x03, 0x03];
        body.extend([9; 32]);
        body.extend([0, 0xc0, 0x13, 0]);
        // encrypt_then_mac (22), extended_master_secret (23), ALPN "http/1.1".
        let alpn = [&[0, 9, 8][..], b"http/1.1"].concat();
        let mut ext = vec![0, 22, 0, 0, 0, 23, 0, 0, 0, 16, 0, alpn.len() as u8];
        ext.extend(alpn);
        body.extend((ext.len() as u16).to_be_bytes());
        body.extend(ext);
        let hello = server_hello(&body).unwrap();
        assert_eq!((hello.version, hello.cipher_suite), (0x0303, 0xc013));
        assert!(hello.encrypt_then_mac && hello.extended_master_secret && !hello.hello_retry);
        assert_eq!(hello.alpn.as_deref(), Some("http/1.1"));
    }

    #[test]
    fn test_encrypted_extensions_alpn() {
        let alpn = [&[0, 3, 2][..], b"h2"].concat();
        let mut body = vec![0, 4 + alpn.len() as u8, 0, 16, 0, alpn.len() as u8];
        body.extend(alpn);
        assert_eq!(encrypted_extensions_alpn(&body).as_deref(), Some("h2"));
        assert_eq!(encrypted_extensions_alpn(&[0, 0]), None);
    }

    #[test]
    fn test_server_hello_tls13_and_retry() {
        let mut body = vec![0x03, 0x03];
        body.extend(HELLO_RETRY_RANDOM);
        body.extend([0, 0x13, 0x02, 0]);
        body.extend([0, 6, 0, 43, 0, 2, 3, 4]);
        let hello = server_hello(&body).unwrap();
        assert_eq!((hello.version, hello.cipher_suite), (0x0304, 0x1302));
        assert!(hello.hello_retry);
    }
}

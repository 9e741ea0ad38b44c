//! Cipher suites, the key schedules of TLS 1.2 (the PRF, RFC 5246) and TLS 1.3
//! (HKDF-Expand-Label, RFC 8446), and record decryption: AEAD (AES-GCM, ChaCha20-Poly1305) and
//! AES-CBC with HMAC, MAC-then-encrypt or encrypt-then-MAC (RFC 7366).
//!
//! The primitives come from `ring` (AEAD, HMAC, HKDF: its assembly AES-GCM is twice as fast as
//! the pure-Rust crates here) and RustCrypto's `aes` + `cbc` (ring has no CBC mode) and `ghash`
//! (ring does not expose AES-GCM's parts, which [`gcm_sequence_number`] needs).

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, BlockModeDecrypt, KeyInit, KeyIvInit};
use ghash::universal_hash::UniversalHash;
use ring::{aead, hkdf, hmac};
use tls_parser::{TlsCipherEnc, TlsCipherEncMode, TlsCipherMac, TlsCipherSuite, TlsPRF};

/// A hash used by a suite's PRF, HKDF or HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// SHA-1 (HMAC of CBC suites only).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
}

impl Hash {
    fn hmac(self) -> hmac::Algorithm {
        match self {
            Hash::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Hash::Sha256 => hmac::HMAC_SHA256,
            Hash::Sha384 => hmac::HMAC_SHA384,
        }
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

/// How records are protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bulk {
    /// AES-GCM with a key of this many bytes.
    AesGcm(usize),
    /// ChaCha20-Poly1305.
    ChaCha20Poly1305,
    /// AES-CBC with a key of this many bytes, authenticated by HMAC.
    AesCbc(usize, Hash),
}

/// What a cipher suite needs to decrypt records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    /// The IANA number.
    pub id: u16,
    /// Record protection.
    pub bulk: Bulk,
    /// The hash of the TLS 1.2 PRF, or of TLS 1.3's HKDF.
    pub prf: Hash,
}

impl Suite {
    /// The suite numbered `id`, if wsdissect can decrypt it.
    pub fn from_id(id: u16) -> Option<Suite> {
        let s = TlsCipherSuite::from_id(id)?;
        let key = usize::from(s.enc_size / 8);
        let bulk = match (s.enc, s.enc_mode, s.mac) {
            (TlsCipherEnc::Aes, TlsCipherEncMode::Gcm, TlsCipherMac::Aead) if key == 16 || key == 32 => {
                Bulk::AesGcm(key)
            }
            (TlsCipherEnc::Chacha20_Poly1305, _, TlsCipherMac::Aead) => Bulk::ChaCha20Poly1305,
            (TlsCipherEnc::Aes, TlsCipherEncMode::Cbc, mac) if key == 16 || key == 32 => Bulk::AesCbc(
                key,
                match mac {
                    TlsCipherMac::HmacSha1 => Hash::Sha1,
                    TlsCipherMac::HmacSha256 => Hash::Sha256,
                    TlsCipherMac::HmacSha384 => Hash::Sha384,
                    _ => return None,
                },
            ),
            _ => return None,
        };
        // TLS 1.2's PRF is SHA-256 unless the suite names another; TLS 1.3 suites name theirs.
        let prf = match s.prf {
            TlsPRF::Sha384 => Hash::Sha384,
            TlsPRF::Default | TlsPRF::Sha256 => Hash::Sha256,
            _ => return None,
        };
        Some(Suite { id, bulk, prf })
    }

    /// The IANA name, e.g. `TLS_AES_128_GCM_SHA256`.
    pub fn name(id: u16) -> Option<&'static str> {
        TlsCipherSuite::from_id(id).map(|s| s.name)
    }

    fn key_len(self) -> usize {
        match self.bulk {
            Bulk::AesGcm(n) | Bulk::AesCbc(n, _) => n,
            Bulk::ChaCha20Poly1305 => 32,
        }
    }

    fn aead(self) -> Option<&'static aead::Algorithm> {
        match self.bulk {
            Bulk::AesGcm(16) => Some(&aead::AES_128_GCM),
            Bulk::AesGcm(_) => Some(&aead::AES_256_GCM),
            Bulk::ChaCha20Poly1305 => Some(&aead::CHACHA20_POLY1305),
            Bulk::AesCbc(..) => None,
        }
    }
}

/// The TLS 1.2 PRF (RFC 5246 section 5): P_hash(secret, label + seed), filling `out`.
pub fn prf(hash: Hash, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    let key = hmac::Key::new(hash.hmac(), secret);
    let sign = |parts: &[&[u8]]| {
        let mut ctx = hmac::Context::with_key(&key);
        parts.iter().for_each(|p| ctx.update(p));
        ctx.sign()
    };
    // A(1) = HMAC(secret, label + seed); A(i) = HMAC(secret, A(i-1)).
    let mut a = sign(&[label, seed]);
    for chunk in out.chunks_mut(hash.output_len()) {
        let block = sign(&[a.as_ref(), label, seed]);
        chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
        a = sign(&[a.as_ref()]);
    }
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label (RFC 8446 section 7.1) with an empty context, filling `out`.
pub fn hkdf_expand_label(hash: Hash, secret: &[u8], label: &[u8], out: &mut [u8]) {
    let alg = if hash == Hash::Sha384 { hkdf::HKDF_SHA384 } else { hkdf::HKDF_SHA256 };
    let prk = hkdf::Prk::new_less_safe(alg, secret);
    let length = u16::try_from(out.len()).unwrap_or(u16::MAX).to_be_bytes();
    let label_len = [u8::try_from(6 + label.len()).unwrap_or(u8::MAX)];
    let info: [&[u8]; 5] = [&length, &label_len, b"tls13 ", label, &[0]];
    // Lengths here are at most 48 bytes, far below HKDF's limit of 255 hash lengths.
    if let Ok(okm) = prk.expand(&info, Len(out.len())) {
        let _ = okm.fill(out);
    }
}

/// The next TLS 1.3 application traffic secret, after a KeyUpdate.
pub fn next_traffic_secret(hash: Hash, secret: &[u8]) -> Vec<u8> {
    let mut next = vec![0; hash.output_len()];
    hkdf_expand_label(hash, secret, b"traffic upd", &mut next);
    next
}

/// Why a record was not decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// Too short to hold what the suite adds to a record.
    TooShort,
    /// The tag, the MAC or the padding is wrong: wrong keys, or the record was altered.
    BadRecordMac,
    /// No key for the record (the key log lacks its secret).
    NoKey,
}

/// One direction's record protection: its keys and how they are used.
pub struct RecordCipher {
    tls13: bool,
    kind: Protection,
}

enum Protection {
    /// `iv`: TLS 1.3's and ChaCha20's 12-byte IV, or GCM's 4-byte salt in TLS 1.2.
    Aead {
        key: Box<aead::LessSafeKey>,
        iv: [u8; 12],
        explicit_nonce: bool,
    },
    Cbc {
        key: Vec<u8>,
        mac: hmac::Key,
        mac_len: usize,
        encrypt_then_mac: bool,
    },
}

impl std::fmt::Debug for RecordCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordCipher").field("tls13", &self.tls13).finish_non_exhaustive()
    }
}

const TAG_LEN: usize = 16;
const GCM_EXPLICIT_NONCE: usize = 8;
const AES_BLOCK: usize = 16;

impl RecordCipher {
    /// TLS 1.3: the keys of a traffic secret.
    pub fn tls13(suite: Suite, secret: &[u8]) -> Option<RecordCipher> {
        let mut key = vec![0; suite.key_len()];
        let mut iv = [0; 12];
        hkdf_expand_label(suite.prf, secret, b"key", &mut key);
        hkdf_expand_label(suite.prf, secret, b"iv", &mut iv);
        let key = Box::new(aead::LessSafeKey::new(aead::UnboundKey::new(suite.aead()?, &key).ok()?));
        Some(RecordCipher { tls13: true, kind: Protection::Aead { key, iv, explicit_nonce: false } })
    }

    /// TLS 1.2: both directions' ciphers (client's, server's) from the master secret.
    pub fn tls12_pair(
        suite: Suite,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        encrypt_then_mac: bool,
    ) -> Option<[RecordCipher; 2]> {
        let (mac_len, key_len) = match suite.bulk {
            Bulk::AesCbc(key, hash) => (hash.output_len(), key),
            _ => (0, suite.key_len()),
        };
        let iv_len = match suite.bulk {
            Bulk::AesGcm(_) => 4,
            Bulk::ChaCha20Poly1305 => 12,
            // TLS 1.1 and later send each record's IV in the record.
            Bulk::AesCbc(..) => 0,
        };
        let mut block = vec![0; 2 * (mac_len + key_len + iv_len)];
        let seed = [&server_random[..], &client_random[..]].concat();
        prf(suite.prf, master, b"key expansion", &seed, &mut block);
        let (macs, rest) = block.split_at(2 * mac_len);
        let (keys, ivs) = rest.split_at(2 * key_len);
        let side = |i: usize| -> Option<RecordCipher> {
            let key = &keys[i * key_len..][..key_len];
            let kind = match suite.bulk {
                Bulk::AesCbc(_, hash) => Protection::Cbc {
                    key: key.to_vec(),
                    mac: hmac::Key::new(hash.hmac(), &macs[i * mac_len..][..mac_len]),
                    mac_len,
                    encrypt_then_mac,
                },
                _ => {
                    let mut iv = [0; 12];
                    iv[..iv_len].copy_from_slice(&ivs[i * iv_len..][..iv_len]);
                    let key = Box::new(aead::LessSafeKey::new(aead::UnboundKey::new(suite.aead()?, key).ok()?));
                    Protection::Aead { key, iv, explicit_nonce: matches!(suite.bulk, Bulk::AesGcm(_)) }
                }
            };
            Some(RecordCipher { tls13: false, kind })
        };
        Some([side(0)?, side(1)?])
    }

    /// Decrypts the body of record number `seq` in place. `header` is the record's 5 header
    /// bytes. Returns where the plaintext lies in `body` and its content type.
    pub fn open(
        &self,
        seq: u64,
        header: [u8; 5],
        body: &mut [u8],
    ) -> Result<(std::ops::Range<usize>, u8), RecordError> {
        match &self.kind {
            Protection::Aead { key, iv, explicit_nonce } => {
                let mut nonce = *iv;
                let start = if *explicit_nonce {
                    let explicit = body.get(..GCM_EXPLICIT_NONCE).ok_or(RecordError::TooShort)?;
                    nonce[4..].copy_from_slice(explicit);
                    GCM_EXPLICIT_NONCE
                } else {
                    nonce[4..].iter_mut().zip(seq.to_be_bytes()).for_each(|(n, s)| *n ^= s);
                    0
                };
                let sealed_len = body.len().checked_sub(start + TAG_LEN).ok_or(RecordError::TooShort)?;
                let mut aad = [0; 13];
                let aad: &[u8] = if self.tls13 {
                    &header
                } else {
                    aad[..8].copy_from_slice(&seq.to_be_bytes());
                    aad[8..11].copy_from_slice(&header[..3]);
                    aad[11..].copy_from_slice(&u16::try_from(sealed_len).unwrap_or(u16::MAX).to_be_bytes());
                    &aad
                };
                let nonce = aead::Nonce::assume_unique_for_key(nonce);
                key.open_in_place(nonce, aead::Aad::from(aad), &mut body[start..])
                    .map_err(|_| RecordError::BadRecordMac)?;
                let plain = start..start + sealed_len;
                if !self.tls13 {
                    return Ok((plain, header[0]));
                }
                // TLSInnerPlaintext: content, the real type, then zero padding.
                let inner = &body[plain.clone()];
                let end = inner.iter().rposition(|&b| b != 0).ok_or(RecordError::BadRecordMac)?;
                Ok((start..start + end, inner[end]))
            }
            Protection::Cbc { key, mac, mac_len, encrypt_then_mac } => {
                let mac_len = *mac_len;
                if *encrypt_then_mac {
                    let sealed = body.len().checked_sub(mac_len).ok_or(RecordError::TooShort)?;
                    let (sealed_bytes, tag) = body.split_at(sealed);
                    verify_mac(mac, seq, header, sealed_bytes, tag)?;
                    let plain = cbc_decrypt(key, &mut body[..sealed])?;
                    Ok((plain, header[0]))
                } else {
                    let plain = cbc_decrypt(key, body)?;
                    let content_len = plain.len().checked_sub(mac_len).ok_or(RecordError::BadRecordMac)?;
                    let (content, tag) = body[plain.start..plain.end].split_at(content_len);
                    verify_mac(mac, seq, header, content, tag)?;
                    Ok((plain.start..plain.start + content_len, header[0]))
                }
            }
        }
    }
}

impl RecordCipher {
    /// TLS 1.3: protects `content` of type `content_type` as record number `seq`, appending the
    /// whole record (header included) to `out`. The inverse of [`open`](Self::open), for
    /// synthetic captures and tests; `None` for a TLS 1.2 cipher.
    pub fn seal_tls13(&self, seq: u64, content_type: u8, content: &[u8], out: &mut Vec<u8>) -> Option<()> {
        let Protection::Aead { key, iv, .. } = &self.kind else { return None };
        if !self.tls13 {
            return None;
        }
        let mut nonce = *iv;
        nonce[4..].iter_mut().zip(seq.to_be_bytes()).for_each(|(n, s)| *n ^= s);
        let length = u16::try_from(content.len() + 1 + TAG_LEN).ok()?;
        let header = [23, 3, 3, (length >> 8) as u8, length as u8];
        let start = out.len();
        out.extend_from_slice(&header);
        out.extend_from_slice(content);
        out.push(content_type);
        let mut body = out.split_off(start + 5);
        key.seal_in_place_append_tag(aead::Nonce::assume_unique_for_key(nonce), aead::Aad::from(header), &mut body)
            .ok()?;
        out.extend_from_slice(&body);
        Some(())
    }
}

/// TLS 1.3 with AES-GCM: the sequence number under which this traffic secret sealed the record
/// (`header`, then `body` with its tag), read from the tag instead of trying numbers. A GCM tag
/// is GHASH(header, ciphertext) xor AES(J0), where J0 is the nonce (the IV xor the number) then
/// the counter 1; undoing both gives the nonce. `None` for a record this secret did not seal
/// (96 bits of J0 must come out right; the caller confirms by opening the record).
pub fn gcm_sequence_number(suite: Suite, secret: &[u8], header: &[u8; 5], body: &[u8]) -> Option<u64> {
    let Bulk::AesGcm(key_len) = suite.bulk else { return None };
    let sealed_len = body.len().checked_sub(TAG_LEN)?;
    let (sealed, tag) = body.split_at(sealed_len);
    let mut key = [0; 32];
    let key = &mut key[..key_len];
    let mut iv = [0; 12];
    hkdf_expand_label(suite.prf, secret, b"key", key);
    hkdf_expand_label(suite.prf, secret, b"iv", &mut iv);
    let undo_tag = |encrypt: &dyn Fn(&mut aes::Block), decrypt: &dyn Fn(&mut aes::Block)| {
        let mut h = aes::Block::default();
        encrypt(&mut h);
        let mut ghash = ghash::GHash::new(&h);
        ghash.update_padded(header);
        ghash.update_padded(sealed);
        let mut lengths = [0; 16];
        lengths[..8].copy_from_slice(&(8 * header.len() as u64).to_be_bytes());
        lengths[8..].copy_from_slice(&(8 * sealed_len as u64).to_be_bytes());
        ghash.update(&[lengths.into()]);
        let mut j0 = ghash.finalize();
        j0.iter_mut().zip(tag).for_each(|(j, t)| *j ^= t);
        decrypt(&mut j0);
        j0
    };
    let j0 = match key_len {
        16 => {
            let aes = aes::Aes128::new_from_slice(key).ok()?;
            undo_tag(&|b| aes.encrypt_block(b), &|b| aes.decrypt_block(b))
        }
        _ => {
            let aes = aes::Aes256::new_from_slice(key).ok()?;
            undo_tag(&|b| aes.encrypt_block(b), &|b| aes.decrypt_block(b))
        }
    };
    if j0[..4] != iv[..4] || j0[12..] != [0, 0, 0, 1] {
        return None;
    }
    let word = |bytes: &[u8]| u64::from_be_bytes(bytes.try_into().expect("8 bytes"));
    Some(word(&j0[4..12]) ^ word(&iv[4..]))
}

/// Checks the HMAC of `data` as record `seq` (the length in the MAC input is `data`'s).
fn verify_mac(mac: &hmac::Key, seq: u64, header: [u8; 5], data: &[u8], tag: &[u8]) -> Result<(), RecordError> {
    let mut ctx = hmac::Context::with_key(mac);
    ctx.update(&seq.to_be_bytes());
    ctx.update(&header[..3]);
    ctx.update(&u16::try_from(data.len()).unwrap_or(u16::MAX).to_be_bytes());
    ctx.update(data);
    if ctx.sign().as_ref() == tag { Ok(()) } else { Err(RecordError::BadRecordMac) }
}

/// Decrypts an explicit-IV CBC body (IV, then blocks) in place and checks its TLS padding
/// (`n + 1` bytes of value `n`). Returns where the content (and, for MAC-then-encrypt, its MAC)
/// lies.
fn cbc_decrypt(key: &[u8], body: &mut [u8]) -> Result<std::ops::Range<usize>, RecordError> {
    if body.len() < 2 * AES_BLOCK || !body.len().is_multiple_of(AES_BLOCK) {
        return Err(RecordError::TooShort);
    }
    let (iv, blocks) = body.split_at_mut(AES_BLOCK);
    let decrypted = match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .ok()
            .map(|d| d.decrypt_padded::<NoPadding>(blocks).is_ok()),
        _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .ok()
            .map(|d| d.decrypt_padded::<NoPadding>(blocks).is_ok()),
    };
    if decrypted != Some(true) {
        return Err(RecordError::TooShort);
    }
    let pad = usize::from(blocks[blocks.len() - 1]);
    let unpadded = blocks.len().checked_sub(pad + 1).ok_or(RecordError::BadRecordMac)?;
    if blocks[unpadded..].iter().any(|&b| usize::from(b) != pad) {
        return Err(RecordError::BadRecordMac);
    }
    Ok(AES_BLOCK..AES_BLOCK + unpadded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn test_suites() {
        assert_eq!(Suite::from_id(0x1301).unwrap().bulk, Bulk::AesGcm(16));
        assert_eq!(Suite::from_id(0x1302).unwrap().prf, Hash::Sha384);
        assert_eq!(Suite::from_id(0x1303).unwrap().bulk, Bulk::ChaCha20Poly1305);
        assert_eq!(Suite::from_id(0xc02f).unwrap().prf, Hash::Sha256);
        assert_eq!(Suite::from_id(0x009f).unwrap(), Suite { id: 0x009f, bulk: Bulk::AesGcm(32), prf: Hash::Sha384 });
        assert_eq!(Suite::from_id(0xc013).unwrap().bulk, Bulk::AesCbc(16, Hash::Sha1));
        assert_eq!(Suite::from_id(0x003d).unwrap().bulk, Bulk::AesCbc(32, Hash::Sha256));
        assert_eq!(
            Suite::from_id(0xc028).unwrap(),
            Suite { id: 0xc028, bulk: Bulk::AesCbc(32, Hash::Sha384), prf: Hash::Sha384 }
        );
        // 3DES, RC4, CCM: named, but not decrypted.
        assert!(
            Suite::from_id(0x000a).is_none() && Suite::from_id(0x0005).is_none() && Suite::from_id(0x1304).is_none()
        );
        assert_eq!(Suite::name(0x1301), Some("TLS_AES_128_GCM_SHA256"));
    }

    /// The TLS 1.2 PRF with SHA-256, from the test vectors circulated on the IETF TLS list
    /// (as used by many TLS implementations' tests).
    #[test]
    fn test_prf_sha256_vector() {
        let secret = hex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = hex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let mut out = vec![0; 100];
        prf(Hash::Sha256, &secret, b"test label", &seed, &mut out);
        let want =
            hex("e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a
             6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab
             4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
             87 34 7b 66");
        assert_eq!(out, want);
    }

    /// The same vectors' SHA-384 case.
    #[test]
    fn test_prf_sha384_vector() {
        let secret = hex("b8 0b 73 3d 6c ee fc dc 71 56 6e a4 8e 55 67 df");
        let seed = hex("cd 66 5c f6 a8 44 7d d6 ff 8b 27 55 5e db 74 65");
        let mut out = vec![0; 148];
        prf(Hash::Sha384, &secret, b"test label", &seed, &mut out);
        let want =
            hex("7b 0c 18 e9 ce d4 10 ed 18 04 f2 cf a3 4a 33 6a 1c 14 df fb 49 00 bb 5f d7 94 21 07 e8 1c 83 cd
             e9 ca 0f aa 60 be 9f e3 4f 82 b1 23 3c 91 46 a0 e5 34 cb 40 0f ed 27 00 88 4f 9d c2 36 f8 0e dd
             8b fa 96 11 44 c9 e8 d7 92 ec a7 22 a7 b3 2f c3 d4 16 d4 73 eb c2 c5 fd 4a bf da d0 5d 91 84 25
             9b 5b f8 cd 4d 90 fa 0d 31 e2 de c4 79 e4 f1 a2 60 66 f2 ee a9 a6 92 36 a3 e5 26 55 c9 e9 ae e6
             91 c8 f3 a2 68 54 30 8d 5e aa 3b e8 5e 09 90 70 3d 73 e5 6f");
        assert_eq!(out, want);
    }

    /// RFC 8448 section 3 (a 1-RTT handshake with TLS_AES_128_GCM_SHA256): the traffic keys and
    /// IVs of the handshake and application secrets.
    #[test]
    fn test_rfc8448_traffic_keys() {
        let cases = [
            (
                "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
                "3fce516009c21727d0f2e4e86ee403bc",
                "5d313eb2671276ee13000b30",
            ),
            (
                "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21",
                "dbfaa693d1762c5b666af5d950258d01",
                "5bd3c71b836e0b76bb73265f",
            ),
            (
                "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
                "9f02283b6c9c07efc26bb9f2ac92e356",
                "cf782b88dd83549aadf1e984",
            ),
            (
                "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
                "17422dda596ed5d9acd890e3c63f5051",
                "5b78923dee08579033e523d9",
            ),
        ];
        for (secret, key, iv) in cases {
            let (mut k, mut i) = ([0; 16], [0; 12]);
            hkdf_expand_label(Hash::Sha256, &hex(secret), b"key", &mut k);
            hkdf_expand_label(Hash::Sha256, &hex(secret), b"iv", &mut i);
            assert_eq!((k.to_vec(), i.to_vec()), (hex(key), hex(iv)), "{secret}");
        }
    }

    #[test]
    fn test_seal_then_open() {
        let cipher = RecordCipher::tls13(Suite::from_id(0x1301).unwrap(), &[7; 32]).unwrap();
        let mut record = Vec::new();
        cipher.seal_tls13(5, 23, b"hello", &mut record).unwrap();
        assert_eq!(record.len(), 5 + 5 + 1 + 16);
        let header: [u8; 5] = record[..5].try_into().unwrap();
        let (plain, kind) = cipher.open(5, header, &mut record[5..]).unwrap();
        assert_eq!((&record[5..][plain], kind), (&b"hello"[..], 23));
    }

    #[test]
    fn test_gcm_sequence_number_read_from_the_tag() {
        for (id, secret_len) in [(0x1301, 32), (0x1302, 48)] {
            let suite = Suite::from_id(id).unwrap();
            let secret = vec![9; secret_len];
            let cipher = RecordCipher::tls13(suite, &secret).unwrap();
            for (seq, len) in [(0, 0), (1, 15), (77, 16), (123_456_789_012, 1000), (u64::MAX - 1, 17)] {
                let mut record = Vec::new();
                cipher.seal_tls13(seq, 23, &vec![b'x'; len], &mut record).unwrap();
                let header: [u8; 5] = record[..5].try_into().unwrap();
                assert_eq!(gcm_sequence_number(suite, &secret, &header, &record[5..]), Some(seq), "{id:#x} {seq}");
                // Another secret, or an altered record, gives nothing.
                assert_eq!(gcm_sequence_number(suite, &vec![8; secret_len], &header, &record[5..]), None);
                let last = record.len() - 1;
                record[last] ^= 1;
                assert_eq!(gcm_sequence_number(suite, &secret, &header, &record[5..]), None);
            }
        }
        let chacha = Suite::from_id(0x1303).unwrap();
        assert_eq!(gcm_sequence_number(chacha, &[9; 32], &[23, 3, 3, 0, 17], &[0; 17]), None);
    }

    /// RFC 8448 section 3: the client's first application record (sequence 0) and the server's
    /// second (sequence 1, after its NewSessionTicket) each carry the 50 bytes 00..31.
    #[test]
    fn test_rfc8448_application_records() {
        let suite = Suite::from_id(0x1301).unwrap();
        let records = [
            (
                "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
                0,
                "1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4",
            ),
            (
                "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
                1,
                "17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30efaf97d90e6dffc602dcb501a59a8fcc49c4bf2e5f0a21c0047c2abf332540dd032e167c2955d",
            ),
        ];
        let want: Vec<u8> = (0..=0x31).collect();
        for (secret, seq, record) in records {
            let cipher = RecordCipher::tls13(suite, &hex(secret)).unwrap();
            let original = hex(record);
            let header: [u8; 5] = original[..5].try_into().unwrap();
            let mut body = original[5..].to_vec();
            let (plain, content_type) = cipher.open(seq, header, &mut body).unwrap();
            assert_eq!((&body[plain], content_type), (&want[..], 23));
            // As another sequence number, or with one byte changed, it fails.
            let mut body = original[5..].to_vec();
            assert_eq!(cipher.open(seq + 1, header, &mut body), Err(RecordError::BadRecordMac));
            let mut body = original[5..].to_vec();
            body[10] ^= 1;
            assert_eq!(cipher.open(seq, header, &mut body), Err(RecordError::BadRecordMac));
        }
    }
}

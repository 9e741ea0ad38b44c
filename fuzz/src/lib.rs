//! What the fuzz targets share.

/// The deliveries an input stands for: each a control byte (bit 0: the direction; bit 7: a gap
/// of as many bytes instead of bytes; the targets give the other bits their own meaning), a
/// 16-bit length, and that many bytes (fewer at the end of the input).
pub fn deliveries(data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let [control, hi, lo, tail @ ..] = rest else { return None };
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (bytes, after) = tail.split_at(len);
        rest = after;
        Some((*control, bytes))
    })
}

//! Display filters against tshark 4.0.17: every case in `testdata/filters/cases.tsv` on every
//! capture in `captures.txt` selects the packets tshark selects (`tshark.tsv`, written by
//! `testdata/scripts/filter_refs.py`), or fails to compile where tshark refuses it. Then the
//! errors, and the laws of `and`, `or` and `not`.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::testdata;
use proptest::prelude::*;
use wsdissect::analyzer::{Analyzer, Config, Frame};
use wsdissect::capture::CaptureReader;
use wsdissect::fields::Context;
use wsdissect::filter::Filter;

/// Packet numbers of the frames each filter selects in a capture (one pass for all of them).
fn select(capture: &str, filters: &[Option<Filter>]) -> Vec<BTreeSet<u64>> {
    let bytes = std::fs::read(testdata().join(capture)).unwrap();
    let mut reader = CaptureReader::new(&bytes[..]).unwrap();
    let mut analyzer = Analyzer::new(Config::default());
    let mut ctx = Context::default();
    let mut selected = vec![BTreeSet::new(); filters.len()];
    let mut on_frame = |ctx: &Context, f: &Frame<'_>| {
        for (filter, set) in filters.iter().zip(selected.iter_mut()) {
            if filter.as_ref().is_some_and(|flt| flt.matches(ctx, f)) {
                set.insert(f.packet.number);
            }
        }
    };
    while let Some(record) = reader.next_record().unwrap() {
        if record.number == 1 {
            ctx.first_ts = record.ts_nanos;
        }
        analyzer.packet(&record, &mut |f: &Frame<'_>| on_frame(&ctx, f));
    }
    analyzer.finish(&mut |f: &Frame<'_>| on_frame(&ctx, f));
    selected
}

fn cases() -> Vec<String> {
    std::fs::read_to_string(testdata().join("filters/cases.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

#[test]
fn filters_select_what_tshark_selects() {
    let cases = cases();
    assert!(cases.len() >= 80, "{} cases", cases.len());
    let mut want: BTreeMap<(String, String), String> = BTreeMap::new();
    for line in std::fs::read_to_string(testdata().join("filters/tshark.tsv")).unwrap().lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut cols = line.splitn(3, '\t');
        let (expr, capture, result) = (cols.next().unwrap(), cols.next().unwrap(), cols.next().unwrap_or(""));
        want.insert((expr.to_string(), capture.to_string()), result.to_string());
    }
    // Where tshark is wrong, the packets we must select instead; tshark must still differ.
    for line in std::fs::read_to_string(testdata().join("filters/deviations.tsv")).unwrap().lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols.len() == 4 && !cols[3].is_empty(), "expression, capture, packets, why: {line}");
        let key = (cols[0].to_string(), cols[1].to_string());
        let tshark = want.insert(key, cols[2].to_string()).unwrap_or_else(|| panic!("not a case: {line}"));
        assert_ne!(tshark, cols[2], "tshark now agrees: {line}");
    }
    let compiled: Vec<Option<Filter>> = cases.iter().map(|c| Filter::compile(c).ok()).collect();
    let mut failures = Vec::new();
    let mut compared = 0;
    for capture in std::fs::read_to_string(testdata().join("filters/captures.txt")).unwrap().lines() {
        let ours = select(capture, &compiled);
        for ((case, filter), got) in cases.iter().zip(&compiled).zip(ours) {
            let expected = &want[&(case.clone(), capture.to_string())];
            let ok = match (expected.strip_prefix("error: "), filter) {
                (Some(_), None) => true,
                (Some(why), Some(_)) => {
                    failures.push(format!("{case} on {capture}: tshark refuses it ({why}), we accept it"));
                    false
                }
                (None, None) => {
                    let err = Filter::compile(case).unwrap_err();
                    failures.push(format!("{case}: we refuse it: {err}"));
                    false
                }
                (None, Some(_)) => {
                    let got = got.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
                    if &got != expected {
                        failures.push(format!("{case} on {capture}:\n    ours:   {got}\n    tshark: {expected}"));
                    }
                    &got == expected
                }
            };
            compared += usize::from(ok);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        compared + failures.len(),
        failures.join("\n")
    );
}

/// (expression, words the message must contain, where the caret must start).
const ERRORS: &[(&str, &[&str], usize)] = &[
    ("websocket.opcod == 1", &["websocket.opcod", "did you mean websocket.opcode"], 0),
    ("tcp.strem == 1", &["tcp.stream"], 0),
    ("websocket.opcode == \"abc\"", &["unsigned integer", "\"abc\"", "Ping"], 20),
    ("websocket.opcode == 256", &["too big"], 20),
    ("websocket.fin < 1", &["boolean", "no order"], 14),
    ("websocket.payload.close == 1", &["label", "presence"], 0),
    ("websocket.opcode contains 1", &["contains", "integer"], 17),
    ("websocket.opcode matches \"1\"", &["matches", "string(...)"], 17),
    ("websocket.payload.text & 1", &["&", "character string"], 0),
    ("websocket.payload.text + 1 == 2", &["arithmetic needs integers", "character string"], 0),
    ("1 + 2 == websocket.opcode", &["the left needs a field"], 0),
    ("{websocket.opcode + 1 == 2", &["\"}\""], 0),
    ("websocket.opcode == 1 +", &["expected a field or a value"], 23),
    ("websocket.payload.text == 1 + 2", &["character string", "arithmetic gives an integer"], 26),
    ("websocket.opcode + nosuchfield == 1", &["neither a field nor a protocol"], 19),
    ("websocket.payload.text matches \"(unclosed\"", &["regular expression"], 31),
    ("websocket.masking_key == e1:7", &["byte string", "e1:7"], 25),
    ("ip.addr == 300.1.1.1", &["IPv4 address", "300.1.1.1"], 11),
    ("ip.addr == ::1", &["IPv4 address"], 11),
    ("ipv6.addr == 10.0.0.1", &["IPv6 address"], 13),
    ("websocket.opcode ==", &["expected a field or a value"], 19),
    ("websocket.opcode == 1 )", &["expected \"and\", \"or\""], 22),
    ("(websocket.fin", &["\")\""], 0),
    ("websocket.payload.text == \"open", &["closing quote"], 26),
    ("websocket.opcode in {}", &["set is empty"], 20),
    ("websocket.opcode in 1", &["\"{\""], 20),
    ("websocket.masking_key[x] == 11", &["slice"], 21),
    ("websocket.opcode[0:1] == 01", &["sliced", "unsigned integer"], 0),
    ("lenn(websocket) == 2", &["unknown function lenn()"], 0),
    ("len(websocket.opcode) == 1", &["len()", "unsigned integer"], 4),
    ("count(\"x\") == 1", &["count() takes a field"], 6),
    ("upper(websocket.opcode) == \"A\"", &["upper()", "string"], 6),
    ("websocket.payload.text == 'ab'", &["character constant"], 26),
    ("websocket.payload.text == \"\\q\"", &["unknown escape"], 27),
    ("any websocket.fin", &["any", "comparison"], 17),
    ("", &["empty"], 0),
    ("websocket.opcode == 1 && #", &["unexpected character"], 25),
    ("tcp.port == tcp.stream && ip.src == websocket.payload.text", &["IPv4 address", "character string"], 36),
];

#[test]
fn errors_say_what_and_where() {
    for (expr, words, caret) in ERRORS {
        let err = Filter::compile(expr).expect_err(expr);
        for w in *words {
            assert!(err.message.contains(w), "{expr}: {:?} lacks {w:?}", err.message);
        }
        assert_eq!(err.span.start, *caret, "{expr}: {}", err.render(expr));
    }
    let nested = format!("{}websocket{}", "(".repeat(200), ")".repeat(200));
    assert!(Filter::compile(&nested).unwrap_err().message.contains("nested"));
}

#[test]
fn cli_filter_errors_exit_2_with_a_caret() {
    let out =
        common::run(&["-Y", "websocket.opcod == 1", &testdata().join("crafted/fragments.pcap").display().to_string()]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(lines[0].starts_with("wsdissect: -Y: \"websocket.opcod\" is neither a field"), "{}", out.stderr);
    assert_eq!(lines[1], "    websocket.opcod == 1");
    assert_eq!(lines[2], format!("    ^{}", "~".repeat("websocket.opcod".len() - 1)));
}

#[test]
fn cli_filter_works_with_every_output_and_count() {
    let path = testdata().join("crafted/fragments.pcap").display().to_string();
    let fields = common::run(&["-Y", "websocket.opcode in {9, 10}", "-T", "fields", "-e", "frame.number", &path]);
    assert_eq!(fields.stdout, "8\n10\n");
    let summary = common::run(&["-Y", "websocket.opcode in {9, 10}", "-c", "1", &path]);
    assert_eq!(summary.stdout.lines().count(), 1, "no handshake line under -Y: {}", summary.stdout);
    let tree = common::run(&["-Y", "websocket.opcode == 10", "-V", &path]);
    assert_eq!(tree.stdout.matches("\nWebSocket\n").count(), 1, "{}", tree.stdout);
    let messages = common::run(&["--messages", "-T", "jsonl", "-Y", "websocket.message.frames > 1", &path]);
    assert_eq!(messages.stdout.lines().count(), 2, "{}", messages.stdout);
    // A payload field in the filter alone still makes payloads kept.
    let text =
        common::run(&["-Y", "websocket.payload.text contains \"world\"", "-T", "fields", "-e", "frame.number", &path]);
    assert_eq!(text.stdout, "9\n");
}

/// Atoms for the property tests: each selects some WebSocket frames of the captures.
const ATOMS: &[&str] = &[
    "websocket.opcode == 1",
    "websocket.mask",
    "websocket.mask == 1",
    "websocket.fin == 0",
    "websocket.opcode in {8..10}",
    "websocket.payload_length > 20",
    "tcp.stream == 0",
    "tcp.srcport == 8080",
    "websocket.payload.text contains \"e\"",
    "websocket.masking_key[0] == 11",
    "frame.number < 20",
    "len(websocket) == 2",
];

const LAW_CAPTURES: &[&str] = &["crafted/fragments.pcap", "real/python-basic.pcap", "real/python-concurrent.pcap"];

fn expr_strategy() -> impl Strategy<Value = String> {
    let atom = proptest::sample::select(ATOMS).prop_map(str::to_string);
    atom.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) || ({b})")),
            inner.prop_map(|a| format!("!({a})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn and_or_not_xor_are_intersection_union_complement_difference(a in expr_strategy(), b in expr_strategy()) {
        let exprs = [
            a.clone(),
            b.clone(),
            format!("({a}) and ({b})"),
            format!("({a}) or ({b})"),
            format!("not ({a})"),
            format!("({a}) xor ({b})"),
            "websocket".to_string(),
        ];
        let filters: Vec<Option<Filter>> = exprs.iter().map(|e| Some(Filter::compile(e).unwrap())).collect();
        for capture in LAW_CAPTURES {
            let s = select(capture, &filters);
            let (sa, sb, all) = (&s[0], &s[1], &s[6]);
            // Packets are the unit here; a packet with several frames could be in both a set and
            // its complement, so the laws are checked on captures with one frame per packet.
            prop_assert_eq!(&s[2], &sa.intersection(sb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(&s[3], &sa.union(sb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(&s[4], &all.difference(sa).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(&s[5], &sa.symmetric_difference(sb).copied().collect::<BTreeSet<_>>());
        }
    }

    #[test]
    fn no_input_makes_the_parser_panic(s in "\\PC{0,60}") {
        let _ = Filter::compile(&s);
    }

    #[test]
    fn near_valid_input_makes_no_panic(a in expr_strategy(), cut in 0usize..200, junk in "[\\[\\]{}()!=&|^~\"':,. a-z0-9-]{0,8}") {
        let mut s = a.clone();
        let at = (0..=cut.min(s.len())).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        s.insert_str(at, &junk);
        let _ = Filter::compile(&s);
    }
}

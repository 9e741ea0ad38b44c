//! tshark's command-line spellings for laying out `-T fields` (`-E`) and for preferences
//! (`-o`), against tshark 4.0.17's own output on the same captures: `testdata/layout/cases.tsv`
//! names each run, `testdata/scripts/tshark_layout.sh` recorded tshark's `NAME.out`. (The
//! `websocket.text_type` trees are compared in `tests/cli.rs`.) wsdissect's own settings have
//! a `wsdissect.` spelling each.

mod common;

use common::{run, testdata};

/// Splits a command line as the shell would for these cases: words, with single quotes.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                word.get_or_insert_default();
            }
            c if c.is_whitespace() && !quoted => words.extend(word.take()),
            c => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    words
}

#[test]
fn every_case_prints_what_tshark_printed() {
    let cases = std::fs::read_to_string(testdata().join("layout/cases.tsv")).unwrap();
    let mut checked = 0;
    for line in cases.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let [name, capture, args] = line.splitn(3, '\t').collect::<Vec<_>>()[..] else { panic!("{line}") };
        let capture = testdata().join(capture);
        let mut argv = vec!["-r".to_string(), capture.display().to_string()];
        argv.extend(words(args));
        let out = run(&argv);
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        let want = std::fs::read_to_string(testdata().join(format!("layout/{name}.out"))).unwrap();
        assert_eq!(out.stdout, want, "{name}: wsdissect {}", argv.join(" "));
        checked += 1;
    }
    assert!(checked >= 6);
}

#[test]
fn bad_layout_options_are_usage_errors() {
    let capture = testdata().join("real/python-basic.pcap").display().to_string();
    for (option, why) in [
        ("quote=x", "quote is d (double), s (single) or n (none)"),
        ("separator=ab", "separator is one character, /t (tab) or /s (space)"),
        ("header", "expected NAME=VALUE"),
        ("colour=y", "unknown option \"colour\""),
    ] {
        let out = run(&["-r", &capture, "-T", "fields", "-e", "frame.number", "-E", option]);
        assert_eq!(out.code, 2, "{option}: {}", out.stderr);
        assert!(out.stderr.contains(why), "{option}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
    let out = run(&["-r", &capture, "-E", "header=y"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("-E is used with -T fields"), "{}", out.stderr);
}

#[test]
fn preferences_spell_the_flags() {
    let capture = |rel: &str| testdata().join(rel).display().to_string();
    let basic = capture("real/python-basic.pcap");
    let fields = ["-T", "fields", "-e", "frame.number", "-e", "websocket.payload.text"];
    let with = |extra: &[&str]| {
        let mut argv = vec!["-r", &basic];
        argv.extend(extra);
        argv.extend(fields);
        run(&argv)
    };
    let cut = with(&["-o", "wsdissect.payload_limit:4"]).stdout;
    assert_eq!(cut, with(&["--payload-limit", "4"]).stdout);
    assert_ne!(cut, with(&[]).stdout);
    assert_eq!(with(&["-o", "wsdissect.threads:1"]).stdout, with(&[]).stdout);
    let late = capture("crafted/violation-heuristic.pcap");
    let found = |extra: &[&str]| {
        let mut argv = vec!["-r", &late, "-T", "fields", "-e", "frame.number"];
        argv.extend(extra);
        run(&argv).stdout.lines().count()
    };
    assert_eq!((found(&[]), found(&["-o", "wsdissect.heuristics:FALSE"]), found(&["--no-heuristics"])), (7, 0, 0));
    assert_eq!(found(&["-o", "wsdissect.heuristics:true"]), 7);
}

#[test]
fn bad_preferences_are_usage_errors_naming_the_closest() {
    let basic = testdata().join("real/python-basic.pcap").display().to_string();
    for (pref, why) in [
        ("websocket.text_typ:As json", "did you mean websocket.text_type?"),
        ("wsdissect.payload_limt:3", "did you mean wsdissect.payload_limit?"),
        ("websocket.text_type:As XML", "one of No subdissection, Line based text, As json, As SIP"),
        ("tcp.desegment_tcp_streams:FALSE", "only TRUE is accepted"),
        ("wsdissect.threads:3", "expected 1 or 2"),
        ("wsdissect.heuristics:maybe", "expected TRUE or FALSE"),
        ("tls.keylog_file", "expected NAME:VALUE"),
    ] {
        let out = run(&["-r", &basic, "-o", pref]);
        assert_eq!(out.code, 2, "{pref}: {}", out.stderr);
        assert!(out.stderr.contains(why), "{pref}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
    let list = run(&["--list-preferences"]);
    assert!(list.stdout.lines().any(|l| l.starts_with("websocket.text_type\t")), "{}", list.stdout);
}

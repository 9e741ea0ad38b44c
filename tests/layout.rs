//! tshark's command-line spellings for laying out `-T fields` (`-E`) and for preferences
//! (`-o`), against tshark 4.0.17's own output on the same captures: `testdata/layout/cases.tsv`
//! names each run, `testdata/scripts/tshark_layout.sh` recorded tshark's `NAME.out`.

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

//! One crafted capture per kind of violation (`testdata/crafted/violation-KIND.pcap`, from
//! `testdata/scripts/craft.py`): wsdissect reports exactly the expert items listed in
//! `CAPTURE.expert.tsv`, at the packets listed, and nothing else (run with the flags of
//! `CAPTURE.flags`, where a limit is lowered to show it).

mod common;

use std::collections::BTreeSet;

use common::{keylog_args, run, testdata};
use wsdissect::ws::expert::{Expert, ExpertKind};

/// (packet, expert field) pairs wsdissect reports for a capture: frames' items from `-T fields`,
/// the handshake's from its summary line.
fn reported(capture: &str) -> BTreeSet<(u64, String)> {
    let mut args = vec!["-r".to_string(), capture.to_string(), "-T".into(), "fields".into()];
    // Some captures show a limit lowered by a flag (CAPTURE.flags).
    if let Ok(flags) = std::fs::read_to_string(format!("{capture}.flags")) {
        args.extend(flags.split_whitespace().map(str::to_string));
    }
    args.extend(keylog_args(std::path::Path::new(capture)));
    args.extend(["-e".to_string(), "frame.number".to_string()]);
    for kind in ExpertKind::ALL {
        args.extend(["-e".to_string(), kind.field().to_string()]);
    }
    let out = run(&args);
    // A TLS record that fails its check is damage (exit 1); every other violation is not.
    let damaged = capture.contains("violation-tls_");
    assert_eq!(out.code, i32::from(damaged), "{capture}: {}", out.stderr);
    let mut found = BTreeSet::new();
    for line in out.stdout.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let packet: u64 = cols[0].parse().unwrap();
        for (kind, value) in ExpertKind::ALL.iter().zip(&cols[1..]) {
            if *value == "1" {
                found.insert((packet, kind.field().to_string()));
            }
        }
    }
    let summary =
        run(&[capture.to_string()].into_iter().chain(keylog_args(std::path::Path::new(capture))).collect::<Vec<_>>());
    // Handshake lines (`HTTP 101`, or `HTTP 200` over HTTP/2) name their items.
    for line in summary.stdout.lines().filter(|l| l.contains(" HTTP ") && !l.contains(" WebSocket ")) {
        for kind in ExpertKind::ALL {
            if line.contains(&Expert::new(*kind, 0).to_string()) {
                let packet = line.split_whitespace().next().unwrap().parse().unwrap();
                found.insert((packet, kind.field().to_string()));
            }
        }
    }
    found
}

#[test]
fn each_violation_capture_reports_exactly_its_items() {
    let mut kinds_seen = BTreeSet::new();
    for entry in std::fs::read_dir(testdata().join("crafted")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.to_string_lossy().to_string();
        let Some(capture) = name.strip_suffix(".expert.tsv") else { continue };
        let want: BTreeSet<(u64, String)> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let (p, f) = l.split_once('\t').unwrap();
                (p.parse().unwrap(), f.to_string())
            })
            .collect();
        assert_eq!(reported(capture), want, "{capture}");
        kinds_seen.extend(want.into_iter().map(|(_, f)| f));
    }
    for kind in ExpertKind::ALL {
        assert!(kinds_seen.contains(kind.field()), "no capture for {}", kind.field());
    }
}

#[test]
fn expert_items_show_in_the_tree_summary_and_json() {
    let capture = testdata().join("crafted/violation-invalid_close_code.pcap");
    let tree = run(&["-V".as_ref(), capture.as_os_str()]).stdout;
    assert!(tree.contains(
        "    [Expert Info (Warning/Protocol): Close status code 1005 may not be sent]\n        [Close status code 1005 may not be sent]\n        [Severity level: Warning]\n        [Group: Protocol]\n"
    ), "{tree}");
    let summary = run(&[capture.as_os_str()]).stdout;
    assert!(summary.contains("[Warning: Close status code 1005 may not be sent]"), "{summary}");
    let json = run(&["--messages".as_ref(), "-T".as_ref(), "jsonl".as_ref(), capture.as_os_str()]).stdout;
    let close = json.lines().find(|l| l.contains("\"opcode\":8")).unwrap();
    let close: serde_json::Value = serde_json::from_str(close).unwrap();
    assert_eq!(close["expert"][0]["field"], "websocket.expert.invalid_close_code");
    assert_eq!(close["expert"][0]["severity"], "Warning");
    let fields = run(&[
        "-T".as_ref(),
        "fields".as_ref(),
        "-e".as_ref(),
        "_ws.expert.severity".as_ref(),
        "-e".as_ref(),
        "_ws.expert.group".as_ref(),
        capture.as_os_str(),
    ]);
    assert!(fields.stdout.lines().any(|l| l == "6291456\t150994944"), "{}", fields.stdout);
}

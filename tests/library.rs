//! The library API: open a capture from a path, a reader or bytes, iterate frames and messages,
//! filter them; the same frames the command line prints.

mod common;

use common::{run, testdata};
use wsdissect::analyzer::Frame;
use wsdissect::capture::CaptureError;
use wsdissect::{Dissector, OwnedFrame};

#[test]
fn frames_from_path_reader_and_bytes_are_the_cli_frames() {
    let path = testdata().join("real/python-concurrent.pcap");
    let bytes = std::fs::read(&path).unwrap();
    let from_path: Vec<OwnedFrame> = Dissector::open(&path).unwrap().frames().collect::<Result<_, _>>().unwrap();
    let from_bytes: Vec<OwnedFrame> =
        Dissector::from_bytes(&bytes).unwrap().frames().collect::<Result<_, _>>().unwrap();
    let from_reader: Vec<OwnedFrame> =
        Dissector::from_reader(std::io::Cursor::new(&bytes)).unwrap().frames().collect::<Result<_, _>>().unwrap();
    assert_eq!(from_path, from_bytes);
    assert_eq!(from_path, from_reader);
    let cli = run(&[
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "tcp.stream",
        "-e",
        "websocket.opcode",
        &path.display().to_string(),
    ]);
    let ours: Vec<String> =
        from_path.iter().map(|f| format!("{}\t{}\t{}", f.packet.number, f.stream, f.header.opcode.0)).collect();
    assert_eq!(ours, cli.stdout.lines().collect::<Vec<_>>());
}

#[test]
fn messages_and_filters() {
    let path = testdata().join("real/python-deflate-context.pcap");
    let messages: Vec<_> = Dissector::open(&path)
        .unwrap()
        .filter("websocket.message.compressed == 1 && websocket.mask == 1")
        .unwrap()
        .messages()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(messages.len(), 10, "the client's compressed messages");
    assert!(messages.iter().all(|m| m.from_client && m.compressed && m.complete));
    assert_eq!(messages[0].text().unwrap(), "Hello_deflate_".repeat(20));
    let close = Dissector::open(&path).unwrap().messages().find_map(|m| m.unwrap().close_code());
    assert_eq!(close, Some(1000));
    assert!(Dissector::open(&path).unwrap().filter("websocket.opcod == 1").is_err());
    assert!(Dissector::open(testdata().join("no/such.pcap")).is_err());
}

#[test]
fn a_damaged_capture_gives_its_frames_then_the_error() {
    let bytes = std::fs::read(testdata().join("crafted/truncated.pcap")).unwrap();
    let items: Vec<Result<OwnedFrame, CaptureError>> = Dissector::from_bytes(&bytes).unwrap().frames().collect();
    assert!(matches!(items.last(), Some(Err(CaptureError::Truncated { .. }))), "{items:?}");
    assert!(items[..items.len() - 1].iter().all(Result::is_ok));
    assert_eq!(items.len(), 2);
}

/// Takes the first two frames, then is done.
struct FirstTwo(Vec<u64>);

impl wsdissect::analyzer::Output for FirstTwo {
    fn frame(&mut self, f: &Frame<'_>) {
        self.0.push(f.packet.number);
    }
    fn done(&self) -> bool {
        self.0.len() >= 2
    }
}

#[test]
fn run_streams_without_copies_and_stops_when_done() {
    let mut out = FirstTwo(Vec::new());
    let mut d = Dissector::open(testdata().join("real/python-basic.pcap")).unwrap();
    d.run(&mut out).unwrap();
    assert_eq!(out.0, [8, 9]);
    assert!(d.packets_read() < 20, "reading stopped early");
    // On two threads too: the reading side stops once the output is done.
    let mut out = FirstTwo(Vec::new());
    let mut d = Dissector::open(testdata().join("real/python-concurrent.pcap")).unwrap();
    d.run_parallel(&mut out).unwrap();
    assert_eq!(out.0.len(), 2);
}

/// Every frame, owned, and the handshakes' packet numbers.
#[derive(Default)]
struct Collect(Vec<OwnedFrame>, Vec<u64>);

impl wsdissect::analyzer::Output for Collect {
    fn frame(&mut self, f: &Frame<'_>) {
        self.0.push(OwnedFrame::from_frame(f));
    }
    fn handshake(&mut self, h: &wsdissect::analyzer::HandshakeEvent<'_>) {
        self.1.push(h.packet.number);
    }
}

#[test]
fn run_parallel_gives_what_run_gives_when_both_threads_inflate() {
    // Every connection compressed: the reading thread inflates those it holds and sends their
    // frames finished; those it hands over are inflated beside the output. Same frames,
    // messages, expert items and counters as one thread, in the same order.
    // With a browser's few connections and 15-bit windows, each direction mostly goes on
    // with its own inflate state; with more 15-bit directions than idle states, as a server
    // sees, each keeps its own once its window is full; without context takeover, every
    // message starts afresh.
    use wsdissect::synth::{Profile, write_capture};
    for (profile, size) in [
        (Profile { connections: 40, ..Profile::deflate() }, 1 << 20),
        (Profile::deflate_browser(), 1 << 20),
        (Profile { connections: 24, window_bits: 15, ..Profile::deflate() }, 3 << 20),
        (Profile { connections: 40, context_takeover: false, ..Profile::deflate() }, 1 << 20),
    ] {
        let mut pcap = Vec::new();
        let written = write_capture(&mut pcap, &profile, size, 3).unwrap();
        let (mut one, mut two) = (Collect::default(), Collect::default());
        let mut d1 = Dissector::from_bytes(&pcap).unwrap();
        let mut d2 = Dissector::from_bytes(&pcap).unwrap();
        d1.run(&mut one).unwrap();
        d2.run_parallel(&mut two).unwrap();
        assert_eq!(one.0.len() as u64, written.frames);
        assert!(one.0.iter().all(|f| f.message.as_ref().is_none_or(|m| m.complete)));
        assert!(one.0.iter().all(|f| f.expert.is_empty()), "{profile:?}");
        assert_eq!(one.0, two.0);
        assert_eq!(one.1, two.1);
        assert_eq!(format!("{:?}", d1.stats()), format!("{:?}", d2.stats()));
    }
}

#[test]
fn run_parallel_gives_what_run_gives() {
    for (capture, filter) in [
        ("real/python-deflate-context.pcap", None),
        ("real/node-deflate.pcap", Some("websocket.message.compressed")),
        ("crafted/fragments.pcap", None),
        ("crafted/truncated.pcap", None),
        ("crafted/tcp-oddities.pcap", None),
    ] {
        let bytes = std::fs::read(testdata().join(capture)).unwrap();
        let open = || {
            let d = Dissector::from_bytes(&bytes).unwrap();
            match filter {
                Some(f) => d.filter(f).unwrap(),
                None => d,
            }
        };
        let (mut one, mut two) = (Collect::default(), Collect::default());
        let (mut d1, mut d2) = (open(), open());
        let r1 = d1.run(&mut one).map_err(|e| e.to_string());
        let r2 = d2.run_parallel(&mut two).map_err(|e| e.to_string());
        assert!(!one.0.is_empty(), "{capture}");
        assert_eq!(one.0, two.0, "{capture}");
        assert_eq!(one.1, two.1, "{capture}");
        assert_eq!(r1, r2, "{capture}");
        assert_eq!(format!("{:?}", d1.stats()), format!("{:?}", d2.stats()), "{capture}");
    }
}

/// Without messages (a run that shows only header fields), every field reads as it does with
/// them, except those that say they read messages; the counts of messages, and of those never
/// ended, are the same. Over every plain committed capture, on one thread and on two.
#[test]
fn frames_without_messages_differ_only_in_fields_that_read_messages() {
    use wsdissect::analyzer::Config;
    use wsdissect::fields::{self, Context};

    /// Each frame's values of every field, and the run's counts.
    fn values(bytes: &[u8], config: Config, parallel: bool) -> (Vec<Vec<String>>, [u64; 2]) {
        let mut frames = Vec::new();
        let mut d = Dissector::from_bytes(bytes).unwrap().with_config(config);
        let mut out = |f: &Frame<'_>| {
            let ctx = Context::default();
            frames.push(
                fields::all()
                    .map(|field| {
                        let mut shown = String::new();
                        (field.get)(&ctx, f, &mut |v| shown += &format!("{v:?};"));
                        shown
                    })
                    .collect(),
            );
        };
        let _ = if parallel { d.run_parallel(&mut out) } else { d.run(&mut out) };
        let stats = d.stats();
        (frames, [stats.messages, stats.unfinished_messages])
    }

    let mut captures: Vec<_> = ["crafted", "real", "regressions"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(testdata().join(dir)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .filter(|p| !p.with_extension(format!("{}.keys", p.extension().unwrap().display())).exists())
        .collect();
    captures.sort();
    assert!(captures.len() > 20, "{captures:?}");
    let names: Vec<&str> = fields::all().map(|f| f.name).collect();
    let mut differing = std::collections::BTreeSet::new();
    for path in &captures {
        let bytes = std::fs::read(path).unwrap();
        for parallel in [false, true] {
            let (with, with_counts) = values(&bytes, Config::default(), parallel);
            let frames_only = Config { messages: false, payload_cap: 0, ..Config::default() };
            let (without, without_counts) = values(&bytes, frames_only, parallel);
            assert_eq!(with.len(), without.len(), "{}", path.display());
            assert_eq!(with_counts, without_counts, "{}: messages, unfinished", path.display());
            for (a, b) in with.iter().zip(&without) {
                for (i, name) in names.iter().enumerate() {
                    if a[i] != b[i] {
                        differing.insert(*name);
                        let field = fields::lookup(name).unwrap();
                        assert!(
                            field.reads_messages(),
                            "{name} in {}: {} without messages, {}",
                            path.display(),
                            b[i],
                            a[i]
                        );
                    }
                }
            }
        }
    }
    // The captures do exercise what messages add.
    for name in ["websocket.payload.text", "websocket.fragment", "websocket.message.compressed", "_ws.expert"] {
        assert!(differing.contains(name), "{name} never differed: {differing:?}");
    }
}

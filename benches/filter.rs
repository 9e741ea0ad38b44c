//! Display-filter evaluation per record: a simple comparison, `contains` and `matches`, on a
//! masked client text frame of 64 bytes that completes a message.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, criterion_group, criterion_main};
use wsdissect::analyzer::{ConnectionInfo, Endpoint, Frame, Origin, PacketMeta};
use wsdissect::fields::Context;
use wsdissect::filter::Filter;
use wsdissect::ws::frame::parse_header;
use wsdissect::ws::message::{Fragment, Message};

fn bench(c: &mut Criterion) {
    let endpoint = |port| Endpoint { ip: IpAddr::V4(Ipv4Addr::LOCALHOST), port };
    let info = ConnectionInfo {
        stream: 3,
        client: endpoint(40000),
        server: endpoint(8080),
        origin: Origin::Handshake,
        handshake: None,
        deflate: None,
        isn: [Some(1000), Some(5000)],
        window_shift: [None; 2],
        first_packet: 1,
        tls: None,
        http2_stream: None,
        arrows: Default::default(),
    };
    let payload = b"{\"type\":\"log\",\"level\":\"info\",\"text\":\"all good, no error here\"}";
    let (_, header) = parse_header(&[0x81, 0x80 | payload.len() as u8, 1, 2, 3, 4]).unwrap();
    let fragments = [Fragment { packet: 42, len: payload.len() as u64 }];
    let message = Message {
        opcode: header.opcode,
        compressed: false,
        fragments: &fragments,
        wire_length: payload.len() as u64,
        length: payload.len() as u64,
        data: payload,
        complete: true,
        inflate_failed: false,
    };
    let packet = PacketMeta {
        number: 42,
        ts_nanos: 0,
        len: 120,
        caplen: 120,
        seq: 2000,
        ack: 6000,
        tcp_len: 70,
        record: None,
        http2_data_len: None,
        http2_problem: None,
        file: 0,
        ..PacketMeta::default()
    };
    let frame = Frame {
        packet,
        first_packet: 42,
        connection: &info,
        from_client: true,
        header,
        payload,
        payload_seen: payload.len() as u64,
        cut: None,
        message: Some(message),
        expert: &[],
    };
    let ctx = Context::default();
    let mut group = c.benchmark_group("filter");
    for (name, expr) in [
        ("compare", "websocket.opcode == 1"),
        ("contains", "websocket.payload.text contains \"error\""),
        ("matches", "websocket.payload.text matches \"err(or|no)\""),
        ("compound", "tcp.port == 8080 && websocket.mask && !(websocket.opcode in {8..10})"),
    ] {
        let filter = Filter::compile(expr).unwrap();
        assert!(filter.matches(&ctx, &frame), "{expr}");
        group.bench_function(name, |b| b.iter(|| filter.matches(black_box(&ctx), black_box(&frame))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

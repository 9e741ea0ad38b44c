#!/usr/bin/env node
// A WebSocket server and client (node `ws`) talking over loopback, for recording.
//
// usage: NODE_PATH=DIR/node_modules node node_peer.js SCENARIO HOST PORT TRUTH.jsonl [KEYLOG CERTDIR CIPHERS]
//
// With KEYLOG, both ends speak wss:// over node's https/tls: the server uses CERTDIR/cert.pem and
// key.pem, allows only the TLS 1.3 suite(s) CIPHERS, and writes every secret of its connections
// to KEYLOG (the 'keylog' event, NSS key log format).
//
// Writes every message either side sends to TRUTH.jsonl in python_peer.py's format. Scenarios:
//   deflate: permessage-deflate with 11-bit server and 10-bit client windows, context kept,
//            a client message sent uncompressed (RSV1 off) between compressed ones, and
//            fragmented compressed messages sent with ws's {fin: false}.
//   h2:      no WebSocket: node's http2 over TLS (ALPN h2), two GET requests on one
//            connection, so that a decrypted HTTP/2 connection is in the test data.
'use strict';
const fs = require('fs');
const https = require('https');
const { WebSocket, WebSocketServer } = require('ws');

const [scenario, host, port, truthPath, keylogPath, certDir, ciphers] = process.argv.slice(2);
const truth = fs.openSync(truthPath, 'w');

function record(conn, direction, opcode, payload) {
  const entry = { conn, direction, opcode };
  if (typeof payload === 'string') entry.text = payload;
  else entry.hex = Buffer.from(payload).toString('hex');
  fs.writeSync(truth, JSON.stringify(entry) + '\n');
}

// HTTP/2 over TLS: two GETs on one connection.
function h2() {
  const http2 = require('http2');
  const server = http2.createSecureServer({
    cert: fs.readFileSync(`${certDir}/cert.pem`),
    key: fs.readFileSync(`${certDir}/key.pem`),
  });
  server.on('keylog', (line) => fs.appendFileSync(keylogPath, line));
  server.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end(`hello over h2, ${headers[':path']}`);
  });
  server.listen(Number(port), host, () => {
    const client = http2.connect(`https://${host}:${port}`, { rejectUnauthorized: false, servername: 'h2.wsdissect.test' });
    let done = 0;
    for (const path of ['/one', '/two']) {
      const req = client.request({ ':path': path });
      req.on('data', () => {});
      req.on('end', () => {
        if (++done === 2) {
          fs.closeSync(truth);
          client.close(() => server.close(() => process.exit(0)));
        }
      });
      req.end();
    }
  });
}

// WebSocket with permessage-deflate (over TLS when a key log is given).
function deflateScenario() {

  const deflate = {
    serverMaxWindowBits: 11,
    clientMaxWindowBits: 10,
    threshold: 64,
    zlibDeflateOptions: { memLevel: 8, level: 6 },
  };

  let listening;
  let server;
  if (keylogPath) {
    const tls = https.createServer({
      cert: fs.readFileSync(`${certDir}/cert.pem`),
      key: fs.readFileSync(`${certDir}/key.pem`),
      minVersion: 'TLSv1.3',
      ciphers,
    });
    tls.on('keylog', (line) => fs.appendFileSync(keylogPath, line));
    server = new WebSocketServer({ server: tls, perMessageDeflate: deflate });
    listening = tls;
    tls.listen(Number(port), host);
  } else {
    server = new WebSocketServer({ host, port: Number(port), perMessageDeflate: deflate });
    listening = server;
  }
  server.on('connection', (ws) => {
    // Echo each message back as it came (text as text, binary as binary), compressed by our rules.
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : data.toString()));
  });

  listening.on('listening', () => {
    const scheme = keylogPath ? 'wss' : 'ws';
    const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}/node`;
    const ws = new WebSocket(url, {
      perMessageDeflate: { clientMaxWindowBits: 10, serverMaxWindowBits: 11, threshold: 64 },
      rejectUnauthorized: false,
      servername: 'wss.wsdissect.test',
    });
    const plan = [];
    const word = 'node_ws_deflate_';
    plan.push([word.repeat(30)]);
    plan.push(['uncompressed']);
    plan.push([word.repeat(30) + ' and more']);
    plan.push([Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7) % 256))]);
    plan.push(['fragment one, ', 'fragment two, ', word.repeat(10)]);
    plan.push([Buffer.alloc(3000, 0x41), Buffer.alloc(100, 0x42)]);
    plan.push(['x'.repeat(2000) + word.repeat(5)]);
    let step = 0;
    const next = () => {
      if (step === plan.length) {
        ws.close(1000, 'node done');
        record(0, 'client-to-server', 8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('node done')]));
        return;
      }
      const parts = plan[step++];
      const compress = parts[0] !== 'uncompressed';
      parts.forEach((part, i) => ws.send(part, { fin: i === parts.length - 1, compress }));
      const whole = typeof parts[0] === 'string' ? parts.join('') : Buffer.concat(parts);
      record(0, 'client-to-server', typeof whole === 'string' ? 1 : 2, whole);
    };
    ws.on('open', next);
    ws.on('message', (data, isBinary) => {
      record(0, 'server-to-client', isBinary ? 2 : 1, isBinary ? data : data.toString());
      next();
    });
    ws.on('close', () => {
      fs.closeSync(truth);
      setTimeout(() => server.close(() => (keylogPath ? listening.close(() => process.exit(0)) : process.exit(0))), 200);
    });
  });
}

if (scenario === 'h2') h2();
else if (scenario === 'deflate') deflateScenario();
else {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}

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
//   h2-websocket: WebSockets over HTTP/2 (RFC 8441) over TLS: node's http2 server with
//            enableConnectProtocol and its client, ws's Sender and Receiver on the streams.
//            Two WebSockets on one connection (one with permessage-deflate), a GET beside
//            them, messages up to 200 KB, a ping, closes with reasons.
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

// ws's framing, for WebSockets on HTTP/2 streams (RFC 8441). PerMessageDeflate and extension
// are not in ws's exports: loaded from its directory.
function wsFraming() {
  const { Sender, Receiver } = require('ws');
  const lib = require('path').join(require('path').dirname(require.resolve('ws')), 'lib');
  const PerMessageDeflate = require(`${lib}/permessage-deflate.js`);
  const extension = require(`${lib}/extension.js`);
  // The framing of one end of a WebSocket on an HTTP/2 stream.
  const socket = (stream, isServer, deflate) => {
    const extensions = deflate ? { [PerMessageDeflate.extensionName]: deflate } : {};
    const sender = new Sender(stream, extensions);
    const receiver = new Receiver({ binaryType: 'nodebuffer', extensions, isServer, maxPayload: 0 });
    stream.pipe(receiver);
    return { sender, receiver };
  };
  return { PerMessageDeflate, extension, socket };
}

// An HTTP/2 server over TLS with extended CONNECT enabled: a CONNECT for a WebSocket is
// answered 200 (permessage-deflate accepted when offered) and its messages echoed, pings
// answered, its close returned; any other request gets `page`. `connOf(path)` numbers the
// WebSockets in the truth file; `onClosed` runs when one has closed. With `clientTruth` the
// server also records what it receives (the client writes no truth), and leaves the key log
// to the client.
function h2WebSocketServer(onClosed, connOf, page = 'a GET beside the WebSockets', clientTruth = false) {
  const http2 = require('http2');
  const { PerMessageDeflate, extension, socket } = wsFraming();
  const server = http2.createSecureServer({
    cert: fs.readFileSync(`${certDir}/cert.pem`),
    key: fs.readFileSync(`${certDir}/key.pem`),
    settings: { enableConnectProtocol: true },
  });
  if (!clientTruth) server.on('keylog', (line) => fs.appendFileSync(keylogPath, line));
  server.on('stream', (stream, headers) => {
    if (headers[':method'] !== 'CONNECT') {
      const html = page.startsWith('<');
      stream.respond({ ':status': headers[':path'] === '/' || !html ? 200 : 404, 'content-type': html ? 'text/html' : 'text/plain' });
      stream.end(headers[':path'] === '/' || !html ? page : '');
      return;
    }
    const conn = connOf(headers[':path']);
    let deflate = null;
    const response = { ':status': 200 };
    const offer = headers['sec-websocket-extensions'];
    if (offer) {
      deflate = new PerMessageDeflate({ serverMaxWindowBits: 11, isServer: true });
      const accepted = deflate.accept(extension.parse(offer)[PerMessageDeflate.extensionName]);
      response['sec-websocket-extensions'] = extension.format({ [PerMessageDeflate.extensionName]: [accepted] });
    }
    stream.respond(response);
    const ws = socket(stream, true, deflate);
    // Echo each message as it came; answer pings and closes.
    ws.receiver.on('message', (data, isBinary) => {
      const payload = isBinary ? data : data.toString();
      if (clientTruth) record(conn, 'client-to-server', isBinary ? 2 : 1, payload);
      record(conn, 'server-to-client', isBinary ? 2 : 1, payload);
      ws.sender.send(data, { binary: isBinary, compress: !!deflate, fin: true, mask: false });
    });
    ws.receiver.on('ping', (data) => {
      record(conn, 'server-to-client', 10, data);
      ws.sender.pong(data, false);
    });
    ws.receiver.on('conclude', (code, reason) => {
      const body = Buffer.concat([Buffer.from([code >> 8, code & 255]), reason]);
      if (clientTruth) record(conn, 'client-to-server', 8, body);
      record(conn, 'server-to-client', 8, Buffer.concat([Buffer.from([code >> 8, code & 255]), reason]));
      ws.sender.close(code, reason, false, () => stream.end());
      onClosed();
    });
  });

  return server;
}

// RFC 8441 over TLS: node's http2 on both sides, ws's framing (Sender, Receiver,
// PerMessageDeflate) on the CONNECT streams.
function h2WebSocket() {
  const http2 = require('http2');
  const { PerMessageDeflate, extension, socket } = wsFraming();
  const server = h2WebSocketServer(() => {}, (path) => (path === '/deflate' ? 0 : 1));
  server.listen(Number(port), host, () => {
    const client = http2.connect(`https://${host}:${port}`, { rejectUnauthorized: false, servername: 'h2.wsdissect.test' });
    client.once('remoteSettings', (settings) => {
      if (!settings.enableConnectProtocol) throw new Error('the server did not enable extended CONNECT');
      const get = client.request({ ':path': '/index.txt' });
      get.on('data', () => {});
      get.end();
      let open = 2;
      const closed = () => {
        if (--open === 0) {
          fs.closeSync(truth);
          setTimeout(() => client.close(() => server.close(() => process.exit(0))), 200);
        }
      };
      for (const [conn, path] of [[0, '/deflate'], [1, '/plain']]) {
        const deflate = conn === 0 ? new PerMessageDeflate({ clientMaxWindowBits: 12 }) : null;
        const headers = {
          ':method': 'CONNECT',
          ':protocol': 'websocket',
          ':scheme': 'https',
          ':path': path,
          ':authority': `${host}:${port}`,
          'sec-websocket-version': '13',
          origin: `https://${host}:${port}`,
        };
        if (deflate) {
          headers['sec-websocket-extensions'] = extension.format({ [PerMessageDeflate.extensionName]: [deflate.offer()] });
        }
        const stream = client.request(headers, { endStream: false });
        stream.on('response', (response) => {
          if (deflate) {
            const accepted = extension.parse(response['sec-websocket-extensions'])[PerMessageDeflate.extensionName];
            deflate.accept(accepted);
          }
          const ws = socket(stream, false, deflate);
          const plan = [
            `node h2 ${path} message one ` + 'repeat '.repeat(40),
            Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 13) % 256)),
            'x'.repeat(200000),
            `node h2 ${path} last ` + 'repeat '.repeat(40),
          ];
          let step = 0;
          const next = () => {
            if (step === plan.length) {
              record(conn, 'client-to-server', 8, Buffer.concat([Buffer.from([0x0f, 0xa1]), Buffer.from(`${path} done`)]));
              ws.sender.close(4001, Buffer.from(`${path} done`), true);
              return;
            }
            const part = plan[step++];
            record(conn, 'client-to-server', typeof part === 'string' ? 1 : 2, part);
            ws.sender.send(typeof part === 'string' ? Buffer.from(part) : part, {
              binary: typeof part !== 'string', compress: !!deflate, fin: true, mask: true,
            });
            if (step === 2) {
              record(conn, 'client-to-server', 9, Buffer.from('node ping'));
              ws.sender.ping(Buffer.from('node ping'), true);
            }
          };
          ws.receiver.on('message', () => next());
          ws.receiver.on('conclude', () => stream.end());
          stream.on('close', closed);
          next();
        });
      }
    });
  });
}

// Headless Chromium as the client: the page comes over TLS with ALPN h2 from node's http2
// server, which enables extended CONNECT, so Chromium opens the page's WebSocket as an
// RFC 8441 stream on that connection (offering permessage-deflate). Chromium writes the key
// log (--ssl-key-log-file); the server records both directions.
function h2Chromium() {
  const page = fs.readFileSync(`${__dirname}/chromium_page.html`, 'utf8')
    .replaceAll('{GREETING}', 'hello from chromium over HTTP/2')
    .replaceAll('{WORD}', 'chromium_h2_deflate_');
  let browser;
  const server = h2WebSocketServer(() => {
    fs.closeSync(truth);
    setTimeout(() => {
      // Debian's chromium is a wrapper script: its whole process group goes.
      process.kill(-browser.pid);
      server.close();
      setTimeout(() => process.exit(0), 300);
    }, 500);
  }, () => 0, page, true);
  server.listen(Number(port), host, () => {
    const profile = fs.mkdtempSync('/tmp/wsdissect-chromium-');
    browser = require('child_process').spawn('chromium', [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--ignore-certificate-errors', `--user-data-dir=${profile}`, `--ssl-key-log-file=${keylogPath}`,
      '--remote-debugging-port=0', `https://${host}:${port}/`,
    ], { stdio: 'ignore', detached: true });
    setTimeout(() => { throw new Error('Chromium did not finish in 30 s'); }, 30000).unref();
  });
}

if (scenario === 'h2') h2();
else if (scenario === 'h2-chromium') h2Chromium();
else if (scenario === 'h2-websocket') h2WebSocket();
else if (scenario === 'deflate') deflateScenario();
else {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}

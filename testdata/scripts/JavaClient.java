// A WebSocket client from the JDK itself (java.net.http, no other library), for recording
// against python_peer.py's echo server (scenario `serve`).
//
// usage: java JavaClient.java URL TRUTH.jsonl   (Java 11 or later runs the source file as is)
//
// It sends a text message, one in three fragments (sendText with last = false), binary messages
// whole and in two fragments, a ping, a 70,000-byte text (which the JDK sends in frames of
// 16 KiB) and a close with a reason; every message either side sends is written to TRUTH.jsonl
// as python_peer.py writes it.
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

public class JavaClient {
    static PrintWriter truth;

    static String quoted(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static synchronized void record(String direction, int opcode, String text, byte[] bytes) {
        String payload = text != null ? "\"text\": " + quoted(text) : "\"hex\": \"" + HexFormat.of().formatHex(bytes) + "\"";
        truth.println("{\"conn\": 0, \"direction\": \"" + direction + "\", \"opcode\": " + opcode + ", " + payload + "}");
        truth.flush();
    }

    static byte[] bytesOf(ByteBuffer data) {
        byte[] b = new byte[data.remaining()];
        data.get(b);
        return b;
    }

    public static void main(String[] args) throws Exception {
        truth = new PrintWriter(Files.newBufferedWriter(Path.of(args[1]), StandardCharsets.UTF_8));
        // Each message the server echoes, once whole.
        LinkedBlockingQueue<Object> echoed = new LinkedBlockingQueue<>();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        WebSocket.Listener listener = new WebSocket.Listener() {
            StringBuilder text = new StringBuilder();
            java.io.ByteArrayOutputStream binary = new java.io.ByteArrayOutputStream();

            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                text.append(data);
                if (last) {
                    record("server-to-client", 1, text.toString(), null);
                    echoed.add(text.toString());
                    text = new StringBuilder();
                }
                ws.request(1);
                return null;
            }

            public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
                binary.writeBytes(bytesOf(data));
                if (last) {
                    record("server-to-client", 2, null, binary.toByteArray());
                    echoed.add(binary.toByteArray());
                    binary.reset();
                }
                ws.request(1);
                return null;
            }

            public CompletionStage<?> onPong(WebSocket ws, ByteBuffer data) {
                record("server-to-client", 10, null, bytesOf(data));
                echoed.add("pong");
                ws.request(1);
                return null;
            }

            public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
                closed.complete(null);
                return null;
            }
        };
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
            .buildAsync(URI.create(args[0]), listener).get(10, TimeUnit.SECONDS);

        String hello = "hello from the JDK's WebSocket client";
        record("client-to-server", 1, hello, null);
        ws.sendText(hello, true).get();
        echoed.poll(10, TimeUnit.SECONDS);

        String[] parts = {"part one, ", "part two, ", "part three: é 中 🙂"};
        record("client-to-server", 1, String.join("", parts), null);
        for (int i = 0; i < parts.length; i++) ws.sendText(parts[i], i == parts.length - 1).get();
        echoed.poll(10, TimeUnit.SECONDS);

        byte[] small = {0, 1, 2, 3, (byte) 0xff};
        record("client-to-server", 2, null, small);
        ws.sendBinary(ByteBuffer.wrap(small), true).get();
        echoed.poll(10, TimeUnit.SECONDS);

        byte[] ping = "are you there?".getBytes(StandardCharsets.US_ASCII);
        record("client-to-server", 9, null, ping);
        ws.sendPing(ByteBuffer.wrap(ping)).get();
        echoed.poll(10, TimeUnit.SECONDS);

        StringBuilder big = new StringBuilder();
        for (int i = 0; big.length() < 70000; i++) big.append("line ").append(i).append('\n');
        String large = big.substring(0, 70000);
        record("client-to-server", 1, large, null);
        ws.sendText(large, true).get();
        echoed.poll(10, TimeUnit.SECONDS);

        byte[] first = new byte[200], second = new byte[300];
        for (int i = 0; i < first.length; i++) first[i] = (byte) (i * 7);
        for (int i = 0; i < second.length; i++) second[i] = (byte) (i * 13);
        byte[] joined = new byte[500];
        System.arraycopy(first, 0, joined, 0, 200);
        System.arraycopy(second, 0, joined, 200, 300);
        record("client-to-server", 2, null, joined);
        ws.sendBinary(ByteBuffer.wrap(first), false).get();
        ws.sendBinary(ByteBuffer.wrap(second), true).get();
        echoed.poll(10, TimeUnit.SECONDS);

        record("client-to-server", 8, null, new byte[] {0x03, (byte) 0xe8, 'b', 'y', 'e'});
        ws.sendClose(1000, "bye").get();
        closed.get(10, TimeUnit.SECONDS);
        truth.close();
    }
}

package dev.kiln.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.daemon.Json;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Txn;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The etcd calls a cluster makes, each counted (requests and bytes both ways) so the scheduler's
 * load on etcd can be measured; prefixes are read in pages at one revision, since a single reply
 * is capped by gRPC's message size and 100,000 records are megabytes.
 */
final class EtcdStore implements AutoCloseable {
    /** Requests and bytes sent to / received from etcd. */
    record Load(long requests, long bytesOut, long bytesIn) {
        Load minus(Load o) {
            return new Load(requests - o.requests, bytesOut - o.bytesOut, bytesIn - o.bytesIn);
        }
    }

    /** One key read: its value and the revision it was last changed at (for guarded writes). */
    record Entry(String key, byte[] value, long modRevision, long lease) {
        JsonNode json() throws IOException {
            return Json.MAPPER.readTree(value);
        }
    }

    /** A prefix read at one revision. */
    record Page(List<Entry> entries, long revision) {}

    static final int PAGE = 5_000;
    private static final long TIMEOUT_SECONDS = 15;

    final Client client;
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong bytesOut = new AtomicLong();
    private final AtomicLong bytesIn = new AtomicLong();

    EtcdStore(List<String> endpoints) {
        this.client = Client.builder().endpoints(endpoints.toArray(String[]::new))
                .maxInboundMessageSize(64 << 20)
                // etcd's leader may be gone for a few seconds: calls wait for a new one instead of failing
                .waitForReady(true)
                .build();
    }

    Load load() {
        return new Load(requests.get(), bytesOut.get(), bytesIn.get());
    }

    static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    static ByteSequence bytes(byte[] b) {
        return ByteSequence.from(b);
    }

    void counted(int out, int in) {
        requests.incrementAndGet();
        bytesOut.addAndGet(out);
        bytesIn.addAndGet(in);
    }

    /** Every key under {@code prefix}, read at one revision. */
    Page prefix(String prefix) throws IOException {
        ByteSequence end = rangeEnd(prefix);
        List<Entry> all = new ArrayList<>();
        ByteSequence from = bytes(prefix);
        long revision = 0;
        while (true) {
            GetOption.Builder o = GetOption.builder().withRange(end).withLimit(PAGE);
            if (revision != 0) o.withRevision(revision);
            GetResponse r = await(client.getKVClient().get(from, o.build()));
            int in = 0;
            for (KeyValue kv : r.getKvs()) {
                in += kv.getKey().size() + kv.getValue().size();
                all.add(new Entry(kv.getKey().toString(StandardCharsets.UTF_8), kv.getValue().getBytes(), kv.getModRevision(), kv.getLease()));
            }
            counted(from.size() + end.size(), in);
            if (revision == 0) revision = r.getHeader().getRevision();
            if (!r.isMore() || r.getKvs().isEmpty()) break;
            byte[] last = r.getKvs().getLast().getKey().getBytes();
            byte[] next = java.util.Arrays.copyOf(last, last.length + 1); // the key just after the last one read
            from = ByteSequence.from(next);
        }
        return new Page(all, revision);
    }

    Entry get(String key) throws IOException {
        GetResponse r = await(client.getKVClient().get(bytes(key)));
        if (r.getKvs().isEmpty()) {
            counted(key.length(), 0);
            return null;
        }
        KeyValue kv = r.getKvs().getFirst();
        counted(key.length(), kv.getValue().size());
        return new Entry(key, kv.getValue().getBytes(), kv.getModRevision(), kv.getLease());
    }

    void put(String key, byte[] value, long lease) throws IOException {
        PutOption o = lease == 0 ? PutOption.DEFAULT : PutOption.builder().withLeaseId(lease).build();
        await(client.getKVClient().put(bytes(key), bytes(value), o));
        counted(key.length() + value.length, 0);
    }

    void delete(String key) throws IOException {
        await(client.getKVClient().delete(bytes(key)));
        counted(key.length(), 0);
    }

    /** A transaction: all of {@code then} when every comparison holds, else nothing. */
    boolean txn(List<Cmp> ifs, List<Op> then, int bytes) throws IOException {
        Txn t = client.getKVClient().txn();
        TxnResponse r = await(t.If(ifs.toArray(Cmp[]::new)).Then(then.toArray(Op[]::new)).commit());
        counted(bytes, 0);
        return r.isSucceeded();
    }

    static <T> T await(java.util.concurrent.CompletableFuture<T> f) throws IOException {
        try {
            return f.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for etcd", e);
        } catch (ExecutionException e) {
            throw new IOException("etcd: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new IOException("etcd did not answer within " + TIMEOUT_SECONDS + " s", e);
        }
    }

    /** The end of a prefix's range: the prefix with its last byte one higher. */
    static ByteSequence rangeEnd(String prefix) {
        byte[] b = prefix.getBytes(StandardCharsets.UTF_8);
        byte[] e = java.util.Arrays.copyOf(b, b.length);
        e[e.length - 1]++;
        return ByteSequence.from(e);
    }

    @Override
    public void close() {
        client.close();
    }
}

package dev.kiln.daemon;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The daemon's records in SQLite ({@code STATE/kiln.db}): registered images, and each instance's
 * spec, desired state and last known state. Write-ahead log with synchronous=NORMAL: a commit is
 * in the log file before the call returns, so a daemon killed with SIGKILL loses nothing it
 * answered for (only a power cut could lose the last commits, which the kernel had not written).
 * One connection, used under this object's lock: the daemon's writes are small and few.
 */
final class StateDb implements AutoCloseable {
    record ImageRow(String sha256, String name, long size, long createdMillis) {}

    /**
     * {@code netAddress}: the guest's IPv4 address on the bridge (null: no network), kept for the
     * record's life so a restart gives the guest the same one; {@code ports}: HOST:GUEST pairs.
     */
    record InstanceRow(String id, String name, String imageSha256, int memoryMiB, List<String> args,
                       String desired, String state, Integer exitStatus, long createdMillis,
                       String netAddress, List<String> ports, long scaleToZeroMillis) {}

    private final Connection db;

    StateDb(Path file) throws SQLException {
        db = DriverManager.getConnection("jdbc:sqlite:" + file);
        try (Statement s = db.createStatement()) {
            s.execute("PRAGMA journal_mode=WAL");
            s.execute("PRAGMA synchronous=NORMAL");
            s.execute("PRAGMA busy_timeout=5000");
            s.execute("CREATE TABLE IF NOT EXISTS images (sha256 TEXT PRIMARY KEY, name TEXT NOT NULL,"
                    + " size INTEGER NOT NULL, created_ms INTEGER NOT NULL)");
            s.execute("CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, name TEXT UNIQUE,"
                    + " image_sha256 TEXT NOT NULL REFERENCES images(sha256), memory_mib INTEGER NOT NULL, args TEXT NOT NULL,"
                    + " desired TEXT NOT NULL, state TEXT NOT NULL, exit_status INTEGER, created_ms INTEGER NOT NULL)");
            // Columns added after the first release: a database made before gets them here.
            addColumn(s, "net_address TEXT UNIQUE");
            addColumn(s, "ports TEXT NOT NULL DEFAULT '[]'");
            addColumn(s, "scale_to_zero_ms INTEGER NOT NULL DEFAULT 0");
        }
    }

    private void addColumn(Statement s, String definition) throws SQLException {
        String name = definition.split(" ")[0];
        try (ResultSet rs = s.executeQuery("PRAGMA table_info(instances)")) {
            while (rs.next()) if (rs.getString("name").equals(name)) return;
        }
        if (definition.contains("UNIQUE")) {
            // SQLite cannot add a UNIQUE column: the column, then a unique index on it
            s.execute("ALTER TABLE instances ADD COLUMN " + definition.replace(" UNIQUE", ""));
            s.execute("CREATE UNIQUE INDEX IF NOT EXISTS instances_" + name + " ON instances(" + name + ")");
        } else {
            s.execute("ALTER TABLE instances ADD COLUMN " + definition);
        }
    }

    synchronized void putImage(ImageRow r) {
        update("INSERT OR IGNORE INTO images (sha256, name, size, created_ms) VALUES (?, ?, ?, ?)",
                r.sha256(), r.name(), r.size(), r.createdMillis());
    }

    synchronized List<ImageRow> images() {
        List<ImageRow> out = new ArrayList<>();
        try (PreparedStatement p = db.prepareStatement("SELECT sha256, name, size, created_ms FROM images ORDER BY created_ms, sha256");
             ResultSet rs = p.executeQuery()) {
            while (rs.next()) out.add(new ImageRow(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4)));
        } catch (SQLException e) {
            throw failure(e);
        }
        return out;
    }

    synchronized void putInstance(InstanceRow r) {
        update("INSERT INTO instances (id, name, image_sha256, memory_mib, args, desired, state, exit_status, created_ms,"
                        + " net_address, ports, scale_to_zero_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                r.id(), r.name(), r.imageSha256(), r.memoryMiB(), jsonList(r.args()),
                r.desired(), r.state(), r.exitStatus(), r.createdMillis(), r.netAddress(), jsonList(r.ports()), r.scaleToZeroMillis());
    }

    /** Records what the user last asked for ({@code desired}) and what the instance is now. */
    synchronized void setStates(String id, String desired, String state, Integer exitStatus) {
        update("UPDATE instances SET desired = ?, state = ?, exit_status = ? WHERE id = ?", desired, state, exitStatus, id);
    }

    private static String jsonList(List<String> l) {
        return new String(Json.bytes(l), java.nio.charset.StandardCharsets.UTF_8);
    }

    private static List<String> parseList(String json) throws java.io.IOException {
        List<String> out = new ArrayList<>();
        for (var n : Json.MAPPER.readTree(json)) out.add(n.asText());
        return out;
    }

    synchronized void deleteInstance(String id) {
        update("DELETE FROM instances WHERE id = ?", id);
    }

    synchronized List<InstanceRow> instances() {
        List<InstanceRow> out = new ArrayList<>();
        try (PreparedStatement p = db.prepareStatement("SELECT id, name, image_sha256, memory_mib, args, desired, state, exit_status,"
                + " created_ms, net_address, ports, scale_to_zero_ms FROM instances ORDER BY created_ms, id");
             ResultSet rs = p.executeQuery()) {
            while (rs.next()) {
                List<String> args = parseList(rs.getString(5));
                int status = rs.getInt(8);
                Integer exit = rs.wasNull() ? null : status;
                out.add(new InstanceRow(rs.getString(1), rs.getString(2), rs.getString(3), rs.getInt(4), args,
                        rs.getString(6), rs.getString(7), exit, rs.getLong(9), rs.getString(10), parseList(rs.getString(11)), rs.getLong(12)));
            }
        } catch (SQLException | java.io.IOException e) {
            throw new IllegalStateException("state database: " + e.getMessage(), e);
        }
        return out;
    }

    /**
     * Runs {@code work} with every write of every thread in one transaction, committed at its end
     * (or rolled back if it throws): for a daemon's start, which records a state for each instance
     * it boots again before it serves anyone (1,000 commits cost ~50 ms there).
     */
    void batch(Runnable work) {
        synchronized (this) {
            try {
                db.setAutoCommit(false);
            } catch (SQLException e) {
                throw failure(e);
            }
        }
        boolean done = false;
        try {
            work.run();
            done = true;
        } finally {
            synchronized (this) {
                try {
                    if (done) db.commit();
                    else db.rollback();
                    db.setAutoCommit(true);
                } catch (SQLException e) {
                    if (done) throw failure(e);
                }
            }
        }
    }

    private void update(String sql, Object... values) {
        try (PreparedStatement p = db.prepareStatement(sql)) {
            for (int i = 0; i < values.length; i++) p.setObject(i + 1, values[i]);
            p.executeUpdate();
        } catch (SQLException e) {
            throw failure(e);
        }
    }

    private static IllegalStateException failure(SQLException e) {
        return new IllegalStateException("state database: " + e.getMessage(), e);
    }

    @Override
    public synchronized void close() {
        try {
            db.close();
        } catch (SQLException e) {
            // closing at shutdown: the WAL is already durable, nothing to save
        }
    }
}

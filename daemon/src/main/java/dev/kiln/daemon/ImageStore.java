package dev.kiln.daemon;

import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Registered images, content-addressed: {@code STATE/images/SHA256.hvt}, validated by the
 * monitor's own image reader before anything is stored, and kept parsed in memory once read. An
 * image is immutable once registered, so an instance's record can name it by hash alone and boot
 * the same bytes after any restart, whatever happened to the file it came from.
 */
final class ImageStore {
    static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private final Path dir;
    private final StateDb db;
    private final Map<String, HvtImage> parsed = new ConcurrentHashMap<>();
    private final Map<String, StateDb.ImageRow> rows = new ConcurrentHashMap<>();

    ImageStore(Path dir, StateDb db) throws IOException {
        this.dir = Files.createDirectories(dir);
        this.db = db;
        for (StateDb.ImageRow r : db.images()) rows.put(r.sha256(), r);
    }

    /** Registers the image at {@code path} (absolute); registering the same bytes twice is one image. */
    StateDb.ImageRow register(String path, String field) {
        Path p;
        try {
            p = Path.of(path);
        } catch (java.nio.file.InvalidPathException e) {
            throw ApiException.invalid(field, "'" + path + "' is not a path: " + e.getReason());
        }
        if (!p.isAbsolute()) throw ApiException.invalid(field, "image path must be absolute (the daemon's working directory is not yours): " + path);
        if (!Files.isRegularFile(p)) throw ApiException.unprocessable(field, "unknown_image", "no image file at " + path);
        byte[] bytes;
        try {
            long size = Files.size(p);
            if (size > HvtImage.MAX_FILE_SIZE) throw ApiException.unprocessable(field, "bad_image", path + " is too large to be an image");
            bytes = Files.readAllBytes(p);
        } catch (IOException e) {
            throw ApiException.unprocessable(field, "unreadable_image", "cannot read " + path + ": " + e.getMessage());
        }
        String name = p.getFileName().toString().replaceFirst("\\.hvt$", "");
        HvtImage image;
        try {
            image = HvtImage.parse(name, bytes);
        } catch (ImageException e) {
            throw ApiException.unprocessable(field, "bad_image", e.getMessage());
        }
        String sha = sha256(bytes);
        StateDb.ImageRow existing = rows.get(sha);
        if (existing != null) return existing;
        Path target = file(sha);
        try {
            // Written beside, then renamed: a crash never leaves a half image under its hash.
            Path tmp = Files.createTempFile(dir, sha, ".tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new IllegalStateException("cannot store image " + sha + ": " + e.getMessage(), e);
        }
        StateDb.ImageRow row = new StateDb.ImageRow(sha, name, bytes.length, System.currentTimeMillis());
        db.putImage(row);
        rows.put(sha, row);
        parsed.put(sha, image);
        return row;
    }

    /**
     * The image a request names: a registered SHA-256, a registered name (when one image has it),
     * or an absolute path, registered on the way.
     */
    StateDb.ImageRow resolve(String ref, String field) {
        if (ref.startsWith("/")) return register(ref, field);
        StateDb.ImageRow r = rows.get(ref);
        if (r != null) return r;
        List<StateDb.ImageRow> named = rows.values().stream().filter(x -> x.name().equals(ref)).toList();
        if (named.size() == 1) return named.getFirst();
        if (named.size() > 1) {
            throw ApiException.unprocessable(field, "ambiguous_image", "several images are named '" + ref + "'; give its sha256");
        }
        throw ApiException.unprocessable(field, "unknown_image", SHA256.matcher(ref).matches()
                ? "no registered image with sha256 " + ref
                : "no registered image named '" + ref + "' (give a registered name or sha256, or an absolute path)");
    }

    StateDb.ImageRow row(String sha) {
        return rows.get(sha);
    }

    List<StateDb.ImageRow> all() {
        return db.images();
    }

    /** The parsed image; read again from the store after a restart. */
    HvtImage image(String sha) {
        HvtImage i = parsed.get(sha);
        if (i != null) return i;
        try {
            StateDb.ImageRow r = rows.get(sha);
            i = HvtImage.parse(r == null ? sha : r.name(), Files.readAllBytes(file(sha)));
        } catch (IOException | ImageException e) {
            throw new ApiException(500, "image_store", "stored image " + sha + " cannot be read: " + e.getMessage(), null);
        }
        parsed.put(sha, i);
        return i;
    }

    private Path file(String sha) {
        return dir.resolve(sha + ".hvt");
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

package dev.kiln.daemon;

/**
 * A request the daemon refuses, with everything the JSON error body carries: the HTTP status, a
 * stable machine-readable code, a message for a person, and the request field at fault (or null).
 * Thrown anywhere under a route; the HTTP front turns it into
 * {@code {"error": {"code": ..., "message": ..., "field": ...}}}.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String code;
    private final String field;

    public ApiException(int status, String code, String message, String field) {
        super(message, null, false, false); // control flow, not a bug: no stack trace to fill
        this.status = status;
        this.code = code;
        this.field = field;
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    /** The request field at fault, or null when the request as a whole is. */
    public String field() {
        return field;
    }

    public static ApiException invalid(String field, String message) {
        return new ApiException(400, "invalid_field", message, field);
    }

    public static ApiException notFound(String what, String id) {
        return new ApiException(404, "not_found", "no " + what + " '" + id + "'", null);
    }

    public static ApiException conflict(String message) {
        return new ApiException(409, "conflict", message, null);
    }

    public static ApiException unprocessable(String field, String code, String message) {
        return new ApiException(422, code, message, field);
    }
}

package dev.kiln.daemon;

/** What a route answers: a JSON value, bytes of another type, or nothing (it streamed its response itself). */
sealed interface Reply {
    record JsonReply(int status, Object body) implements Reply {}

    record Bytes(int status, String contentType, byte[] body) implements Reply {}

    /** 303 to {@code location}, setting a cookie (null: none). */
    record Redirect(String location, String setCookie) implements Reply {}

    /** The route wrote and completed the response itself (a stream). */
    record Streamed() implements Reply {}

    static Reply json(int status, Object body) {
        return new JsonReply(status, body);
    }

    static Reply ok(Object body) {
        return new JsonReply(200, body);
    }
}

package dev.kiln.daemon;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;
import java.util.Set;

/** One request as a route sees it: path parameters, query, a size-capped JSON body, and the response for streams. */
final class Exchange {
    /** Larger bodies are refused with 413: the API's are a few hundred bytes. */
    static final int MAX_BODY = 1 << 20;

    private final Request request;
    private final Response response;
    private final Callback callback;
    private final Map<String, String> params;
    private Fields query;

    Exchange(Request request, Response response, Callback callback, Map<String, String> params) {
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.params = params;
    }

    String param(String name) {
        return params.get(name);
    }

    /** A query parameter, or null. */
    String query(String name) {
        if (query == null) query = Request.extractQueryParameters(request);
        return query.getValue(name);
    }

    /** A query parameter as a boolean (absent: false); anything but true/false is a 400 naming it. */
    boolean flag(String name) {
        if (query == null) query = Request.extractQueryParameters(request);
        String v = query.getValue(name);
        if (v == null) return false;
        return switch (v) {
            case "true", "1", "" -> true;
            case "false", "0" -> false;
            default -> throw ApiException.invalid(name, "query parameter '" + name + "' must be true or false, got '" + v + "'");
        };
    }

    /** The body as a JSON object with only {@code allowed} fields (empty body: empty object). */
    JsonBody body(Set<String> allowed) throws IOException {
        byte[] bytes = rawBody();
        if (bytes.length > 0) {
            String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
            if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
                throw new ApiException(415, "unsupported_media_type", "request body must be application/json, got "
                        + (type == null ? "no Content-Type" : type), null);
            }
        }
        return JsonBody.parse(bytes, allowed);
    }

    private byte[] rawBody() throws IOException {
        long declared = request.getLength();
        if (declared > MAX_BODY) throw tooLarge();
        byte[] bytes;
        try (InputStream in = Content.Source.asInputStream(request)) {
            bytes = in.readNBytes(MAX_BODY + 1);
        } catch (IOException | RuntimeException e) {
            // A body cut short or badly chunked is the client's fault, not the daemon's.
            throw new ApiException(400, "bad_body", "request body could not be read: " + e.getMessage(), null);
        }
        if (bytes.length > MAX_BODY) throw tooLarge();
        return bytes;
    }

    private static ApiException tooLarge() {
        return new ApiException(413, "body_too_large", "request body is larger than " + (MAX_BODY >> 10) + " KiB", null);
    }

    /** Starts a streamed response: status 200, this content type, then bytes as they come. */
    OutputStream stream(String contentType) {
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        return Content.Sink.asOutputStream(response);
    }

    /** Ends a streamed response (after closing the stream). */
    void streamEnded(Throwable failure) {
        if (failure == null) callback.succeeded();
        else callback.failed(failure);
    }
}

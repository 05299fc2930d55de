package dev.kiln.monitor.image;

/** An image was refused; the message names the image and the rule it breaks. */
public final class ImageException extends Exception {
    public ImageException(String message) {
        super(message);
    }
}

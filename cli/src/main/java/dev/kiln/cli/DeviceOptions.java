package dev.kiln.cli;

import dev.kiln.cli.CommandLines.UsageException;
import dev.kiln.monitor.DeviceAttachment;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Solo5's device options, which carry the device name inside the option itself and so are read
 * here, before the ordinary options: {@code --block:NAME=FILE}, {@code --block-sector-size:NAME=N},
 * {@code --net:NAME=TAP}, {@code --net-mac:NAME=MAC} (hvt ABI section 7). They must come before the image; everything after it is the guest's.
 */
final class DeviceOptions {
    private DeviceOptions() {}

    /** The device attachments and the arguments left for the ordinary parser. */
    record Split(List<DeviceAttachment> devices, String[] rest) {}

    private static final Pattern DEVICE = Pattern.compile("--(block|block-sector-size|net|net-mac):([^=]*)=(.*)");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]{1,67}");

    /**
     * Takes the device options out of {@code args}; {@code ordinary} are the other options, so that
     * a value given as the next word ({@code --gdb-port 1234}) is not taken for the image.
     */
    static Split split(String[] args, org.apache.commons.cli.Options ordinary) throws UsageException {
        Map<String, Path> files = new LinkedHashMap<>();
        Map<String, Integer> sectors = new LinkedHashMap<>();
        Map<String, String> taps = new LinkedHashMap<>();
        Map<String, String> macs = new LinkedHashMap<>();
        List<String> rest = new ArrayList<>();
        int i = 0;
        for (; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("-")) break;           // the image: the guest's arguments follow
            // --block:..., --net:... and --net-mac:... name a device; --net-ring-thread is an ordinary option
            boolean device = (a.startsWith("--block") || a.startsWith("--net"))
                    && !ordinary.hasLongOption(a.substring(2).split("=", 2)[0]);
            if (!device) {
                rest.add(a);
                org.apache.commons.cli.Option o = a.startsWith("--") && !a.contains("=") ? ordinary.getOption(a.substring(2)) : null;
                if (o != null && o.hasArg() && i + 1 < args.length) {
                    rest.add(args[++i]);
                }
                continue;
            }
            Matcher m = DEVICE.matcher(a);
            if (!m.matches()) {
                throw new UsageException(a + ": expected --block:NAME=FILE, --block-sector-size:NAME=N, --net:NAME=TAP"
                        + " or --net-mac:NAME=MAC");
            }
            String kind = m.group(1), name = m.group(2), value = m.group(3);
            if (!NAME.matcher(name).matches()) {
                throw new UsageException(a + ": device name '" + name + "' must be 1..67 letters and digits");
            }
            switch (kind) {
                case "block" -> {
                    if (value.isEmpty()) throw new UsageException(a + ": no file given");
                    if (files.put(name, Path.of(value)) != null) throw new UsageException("--block:" + name + " given twice");
                }
                case "block-sector-size" -> {
                    try {
                        sectors.put(name, Integer.parseInt(value));
                    } catch (NumberFormatException e) {
                        throw new UsageException(a + ": '" + value + "' is not a number");
                    }
                }
                case "net" -> {
                    if (value.isEmpty()) throw new UsageException(a + ": no tap interface given");
                    if (taps.put(name, value) != null) throw new UsageException("--net:" + name + " given twice");
                }
                default -> macs.put(name, value);
            }
        }
        for (String s : sectors.keySet()) {
            if (!files.containsKey(s)) throw new UsageException("--block-sector-size:" + s + " without --block:" + s + "=FILE");
        }
        for (String m : macs.keySet()) {
            if (!taps.containsKey(m)) throw new UsageException("--net-mac:" + m + " without --net:" + m + "=TAP");
        }
        List<DeviceAttachment> devices = new ArrayList<>();
        try {
            for (Map.Entry<String, Path> f : files.entrySet()) {
                devices.add(new DeviceAttachment.Block(f.getKey(), f.getValue(),
                        sectors.getOrDefault(f.getKey(), DeviceAttachment.Block.DEFAULT_SECTOR_SIZE)));
            }
            for (Map.Entry<String, String> t : taps.entrySet()) {
                String mac = macs.get(t.getKey());
                devices.add(new DeviceAttachment.Net(t.getKey(), t.getValue(),
                        mac == null ? null : DeviceAttachment.Net.parseMac(mac)));
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        for (; i < args.length; i++) rest.add(args[i]);
        return new Split(devices, rest.toArray(String[]::new));
    }
}

package dev.kiln.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dashboard in a real headless Chromium: signed in by the one-time login URL, it lists the
 * instances created through the API with their state, its charts fill from polling, and its
 * stop button stops one. A screenshot is left in target/dashboard.png.
 */
class DashboardBrowserTest {
    @TempDir
    Path dir;

    @Test
    void loginListChartsAndStop() throws Exception {
        TestDaemons.requireKvm();
        for (String tool : List.of("/usr/bin/chromium", "/usr/bin/chromedriver")) {
            if (!Files.isExecutable(Path.of(tool))) throw new IllegalStateException(tool + " is missing: apt-get install chromium chromium-driver");
        }
        Path token = dir.resolve("token");
        Files.writeString(token, "a-token-of-at-least-16-chars");
        Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
        DaemonConfig config = new DaemonConfig(dir.resolve("kiln.sock"), dir.resolve("state"),
                new InetSocketAddress("127.0.0.1", 0), token, 1024, 64 << 10);
        try (Daemon d = Daemon.start(config, 200)) {
            String login = d.dashboardLoginUrl();
            String base = "http://127.0.0.1:" + d.tcpPort();
            String sha = DaemonNetTest.call(d, "POST", "/v1/images", "{'path': '" + TestDaemons.guest("kshell.hvt") + "'}").path("sha256").asText();
            String first = DaemonNetTest.call(d, "POST", "/v1/instances",
                    "{'image': '" + sha + "', 'name': 'web-a', 'memory_mib': 4, 'args': ['echo', 'up;', 'sleep', '600000']}").path("id").asText();
            String second = DaemonNetTest.call(d, "POST", "/v1/instances",
                    "{'image': '" + sha + "', 'name': 'web-b', 'memory_mib': 4, 'args': ['echo', 'up;', 'sleep', '600000']}").path("id").asText();

            // Without the cookie the API is closed to a browser; the pages are not.
            HttpClient http = HttpClient.newHttpClient();
            assertEquals(401, http.send(HttpRequest.newBuilder(URI.create(base + "/v1/instances")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());
            assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(base + "/ui/")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());

            Path profile = Files.createDirectories(dir.resolve("chromium-profile"));
            ChromeOptions options = new ChromeOptions();
            options.setBinary("/usr/bin/chromium");
            options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--user-data-dir=" + profile, "--window-size=1400,900");
            ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File("/usr/bin/chromedriver"))
                    .usingAnyFreePort().build();
            WebDriver browser = new ChromeDriver(service, options);
            try {
                browser.get(login);
                // the table is drawn again at every poll: an element found may be replaced at once
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(15));
                wait.ignoring(StaleElementReferenceException.class);
                wait.until(b -> b.getCurrentUrl().endsWith("/ui/"));
                wait.until(b -> !b.findElements(By.id("row-" + first)).isEmpty() && !b.findElements(By.id("row-" + second)).isEmpty());
                wait.until(b -> {
                    String row = b.findElement(By.id("row-" + first)).getText();
                    return row.contains("web-a") && row.contains("running");
                });
                // charts: several polls drawn, the live count is 2
                wait.until(b -> Integer.parseInt(b.findElement(By.id("chart-live")).getDomAttribute("data-points") == null ? "0"
                        : b.findElement(By.id("chart-live")).getDomAttribute("data-points")) >= 3);
                wait.until(b -> "2".equals(b.findElement(By.id("chart-live")).getDomAttribute("data-latest")));
                wait.until(b -> Integer.parseInt(String.valueOf(b.findElement(By.id("chart-boot")).getDomAttribute("data-points"))) >= 2);

                wait.until(b -> {
                    b.findElement(By.cssSelector("#row-" + first + " button[data-action=stop]")).click();
                    return true;
                });
                wait.until(b -> b.findElement(By.id("row-" + first)).getText().contains("stopped"));
                assertEquals("stopped", DaemonNetTest.call(d, "GET", "/v1/instances/" + first, null).path("state").asText());
                wait.until(b -> "1".equals(b.findElement(By.id("chart-live")).getDomAttribute("data-latest")));

                wait.until(b -> {
                    b.findElement(By.cssSelector("#row-" + second + " button[data-action=logs]")).click();
                    return true;
                });
                wait.until(b -> b.findElement(By.id("logs")).getText().contains("up"));

                File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
                Path out = Files.createDirectories(Path.of("target")).resolve("dashboard.png");
                Files.copy(shot.toPath(), out, StandardCopyOption.REPLACE_EXISTING);
                assertTrue(Files.size(out) > 1000);
            } finally {
                browser.quit();
            }
            // The login code was spent by the browser.
            assertEquals(401, http.send(HttpRequest.newBuilder(URI.create(login)).build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8)).statusCode());
        }
    }
}

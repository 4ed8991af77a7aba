"""`oceanus check` refuses what `oceanus run` would refuse, and says where (file:line:col).

Each case here used to pass `check` ("(ok)", exit 0) and then fail, or misbehave, at `run`."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN, EXAMPLE, SOURCE_DIR, example_config, free_port


def position(path, needle):
    """"line:col" (1-based) of the first occurrence of `needle` in the file."""
    with open(path) as f:
        text = f.read()
    at = text.index(needle)
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    return f"{line}:{col}"


class ConfigCheckTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="oceanus-check-it-")
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("OCEANUS_") and k != "GOOGLE_APPLICATION_CREDENTIALS"}
        self.env["OCEANUS_DATA_DIR"] = os.path.join(self.tmp, "data")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check(self, config, **env):
        p = subprocess.run([BIN, "check", "--config", config], capture_output=True, text=True,
                           env=dict(self.env, **env), timeout=60)
        return p.returncode, p.stdout, p.stderr

    def assert_refused(self, config, where, what, **env):
        code, out, err = self.check(config, **env)
        self.assertEqual(code, 2, f"check accepted it:\n{out}{err}")
        self.assertTrue(err.startswith(f"{config}:{where}: "), err)
        self.assertIn(what, err)

    def test_the_example_passes(self):
        code, out, err = self.check(EXAMPLE)
        self.assertEqual(code, 0, err)
        self.assertIn("(ok)", out)

    def test_check_prints_each_component_as_resolved(self):
        # Each registered component prints its headline and then its own settings, one
        # "  key: value" line each, through its Describe.
        code, out, err = self.check(EXAMPLE)
        self.assertEqual(code, 0, err)
        data = os.path.join(self.tmp, "data")
        lines = out.splitlines()

        def after(headline):
            self.assertIn(headline, lines)
            return lines[lines.index(headline) + 1]

        self.assertEqual(after("queue: spool (durability os)"), "  segment_bytes: 67108864")
        self.assertEqual(after(f"sink: sqlite {data}/oceanus.db"), f"  path: {data}/oceanus.db")
        self.assertTrue(any(l.startswith(f"tasks: local {data}/tasks.db, concurrency 4")
                            for l in lines), out)
        self.assertIn(f"  path: {data}/tasks.db", lines)
        self.assertIn("  endpoint: /swallow/samplesite (and bare /swallow)", lines)
        self.assertIn("    evt: string from param, required, max 16 (reject), transform lower",
                      lines)
        self.assertTrue(any(l.endswith("transform upper, delete_chars '/'") for l in lines), out)
        self.assertIn("  tls: try", lines)

    def test_a_prefix_longer_than_the_address(self):
        config = example_config(self.tmp, [("trusted_proxies: [127.0.0.1/32, ::1/128]",
                                            "trusted_proxies: [127.0.0.1/32, 10.0.0.0/33]")])
        self.assert_refused(config, position(config, "10.0.0.0/33"),
                            "server.trusted_proxies: prefix /33 is longer than the address")

    def test_a_host_name_to_listen_on(self):
        config = example_config(self.tmp)
        self.assert_refused(config, position(config, "${OCEANUS_LISTEN"),
                            "'localhost' is not an IP address (host names are not resolved): "
                            "use an IP address such as 127.0.0.1", OCEANUS_LISTEN="localhost:8080")

    def test_a_missing_report_template(self):
        # The example's template sits next to it; this copy has none. The report is configured
        # once its mailer has an address, and then run reads the template.
        config = example_config(self.tmp)
        self.assert_refused(config, position(config, "history_report.html"),
                            "cannot read the template file " + os.path.join(self.tmp, "history_report.html"),
                            OCEANUS_SMTP_URL="smtp://127.0.0.1:2525")
        shutil.copy(os.path.join(SOURCE_DIR, "examples", "history_report.html"), self.tmp)
        self.assertEqual(self.check(config, OCEANUS_SMTP_URL="smtp://127.0.0.1:2525")[0], 0)

    def test_a_missing_tracker_script(self):
        config = example_config(self.tmp, [("  threads: 0", "  tracker_script: /nonexistent/oceanus.js\n  threads: 0")])
        self.assert_refused(config, position(config, "/nonexistent/oceanus.js"),
                            "server.tracker_script: /nonexistent/oceanus.js is missing, unreadable or empty")

    def test_a_duplicate_site(self):
        with open(EXAMPLE) as f:
            text = f.read()
        site = re.search(r"\n  sampleform:\n(    .*\n|\s*\n)+", text).group(0)
        config = os.path.join(self.tmp, "dup.yaml")
        with open(config, "w") as f:
            f.write(text.rstrip("\n") + "\n" + site)
        code, out, err = self.check(config)
        self.assertEqual(code, 2, out)
        self.assertRegex(err, rf"^{re.escape(config)}:\d+:3: key 'sampleform' is given twice in this "
                              rf"mapping \(first at line \d+\)")

    # What run builds before it starts: the same function runs in check.
    def test_missing_device_regexes(self):
        code, out, err = self.check(EXAMPLE, OCEANUS_UAP_REGEXES="/nonexistent/regexes.yaml")
        self.assertEqual(code, 2, out)
        self.assertIn("device classifier", err)
        self.assertIn("/nonexistent/regexes.yaml", err)

    def test_a_missing_service_account_key(self):
        code, out, err = self.check(EXAMPLE, OCEANUS_SPREADSHEET_ID="sheet-1",
                                    GOOGLE_APPLICATION_CREDENTIALS="/nonexistent/key.json")
        self.assertEqual(code, 2, out)
        self.assertIn("action 'sheets': /nonexistent/key.json: cannot read the service-account key file", err)


class ListenFlagsTest(unittest.TestCase):
    """--listen and --admin-listen follow the rule of server.listen: an IP address."""

    def run_refused(self, *flags):
        data = tempfile.mkdtemp(prefix="oceanus-check-it-")
        try:
            p = subprocess.run([BIN, "run", "--config", EXAMPLE, "--data-dir", data, *flags],
                               capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            self.fail(f"run started with {flags}")
        finally:
            shutil.rmtree(data, ignore_errors=True)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("'localhost' is not an IP address", p.stderr)
        self.assertIn("use an IP address such as 127.0.0.1", p.stderr)

    def test_admin_listen_with_a_host_name(self):
        # Before: accepted, then the admin listener failed to bind and run went on without it.
        self.run_refused("--listen", f"127.0.0.1:{free_port()}", "--admin-listen", f"localhost:{free_port()}")

    def test_listen_with_a_host_name(self):
        self.run_refused("--listen", f"localhost:{free_port()}", "--admin-listen", "off")


if __name__ == "__main__":
    unittest.main()

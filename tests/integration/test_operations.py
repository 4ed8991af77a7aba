"""What operators use: log formats (and, as they land, /metrics and the admin page)."""
import json
import os
import subprocess
import tempfile
import unittest

from harness import BIN, Oceanus, example_config, free_port, send_beacons, wait_for


class LogFormatTest(unittest.TestCase):
    def test_json_log_format_writes_one_object_per_line(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-logs-")
        config = example_config(tmp)
        data_dir = os.path.join(tmp, "data")
        log_path = os.path.join(tmp, "oceanus.log")
        port = free_port()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([BIN, "run", "--log-format", "json", "--config", config,
                                     "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}",
                                     "--admin-listen", "off"], stdout=log, stderr=subprocess.STDOUT)
            o = Oceanus(config=config, data_dir=data_dir, port=port)
            o.proc = proc
            o.log_path = log_path
            try:
                wait_for(o._healthy, timeout=30, what="oceanus /hc")
                self.assertEqual(send_beacons(port, ["json-log"]), ["json-log"])
                o.wait_rows("samplesite", 1, "uid = 'json-log'")
            finally:
                proc.terminate()
                self.assertEqual(proc.wait(timeout=30), 0)
        with open(log_path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        records = [json.loads(line) for line in lines]  # every line is one JSON object
        self.assertGreater(len(records), 3)
        for r in records:
            self.assertEqual(sorted(r), ["level", "msg", "thread", "time"])
            self.assertRegex(r["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(r["level"], ("trace", "debug", "info", "warning", "error", "critical"))
        msgs = [r["msg"] for r in records]
        self.assertTrue(any(m.startswith("listening on 127.0.0.1:") for m in msgs), msgs)
        self.assertIn("bye", msgs)

    def test_unknown_log_format_is_refused(self):
        out = subprocess.run([BIN, "--log-format", "xml", "check", "--config",
                              example_config(tempfile.mkdtemp())], capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("xml not in {text,json}", out.stderr)


if __name__ == "__main__":
    unittest.main()

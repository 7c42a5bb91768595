package main

import "flag"

// CometBFT logs every packet sent and received at debug level, with the packet's bytes formatted
// as text. pprof of a bulk transfer (docs/benchmarks.md) found that formatting to be ~89 % of the
// receiving harness's CPU and ~60 % of the sender's: it held the harness at ~2–4 MB/s. Benchmarks
// pass -log-debug=false; tests keep the default, which reports every line as before.
var logDebug = flag.Bool("log-debug", true, "report CometBFT's debug log lines as events (costly under bulk traffic)")

// cometbft-peer runs a real CometBFT p2p Switch (CometBFT's own packages) on loopback so that
// Switchyard's tests can talk to it. It prints one JSON object per line on stdout:
//
//	{"event":"listening","id":…,"addr":"id@127.0.0.1:port","cometbft":"0.38.19"}
//	{"event":"peer_added","id":…,"remote":…,"moniker":…,"outbound":bool}
//	{"event":"peer_removed","id":…,"reason":…}
//	{"event":"received","id":…,"channel":…,"size":…,"sha256":…}
//	{"event":"log","level":…,"msg":…,"kv":{…}}   (CometBFT's own log lines)
//	{"event":"stopped"}
//
// The echo reactor sends every message it receives on its channel back to the sender, unchanged.
//
// One source, one build per CometBFT line (build.sh): go.mod pins v0.38.x, go.v1.mod v1.0.x, go.v040.mod
// v0.40.x, go.v037.mod v0.37.x, go.v034.mod v0.34.x. Send through sendTo() (compat_send*.go); see README.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cosmos/gogoproto/proto"

	"github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/p2p/conn"
	"github.com/cometbft/cometbft/p2p/pex"
)

var out = struct {
	sync.Mutex
	enc *json.Encoder
}{enc: json.NewEncoder(os.Stdout)}

func emit(fields map[string]interface{}) {
	out.Lock()
	defer out.Unlock()
	_ = out.enc.Encode(fields)
}

// jsonLogger turns CometBFT's log lines into "log" events.
type jsonLogger struct{ ctx []interface{} }

func (l jsonLogger) line(level, msg string, keyvals []interface{}) {
	kv := map[string]string{}
	all := append(append([]interface{}{}, l.ctx...), keyvals...)
	for i := 0; i+1 < len(all); i += 2 {
		kv[fmt.Sprint(all[i])] = fmt.Sprint(all[i+1])
	}
	emit(map[string]interface{}{"event": "log", "level": level, "msg": msg, "kv": kv})
}
func (l jsonLogger) Debug(msg string, kv ...interface{}) {
	if *logDebug {
		l.line("debug", msg, kv)
	}
}
func (l jsonLogger) Info(msg string, kv ...interface{})  { l.line("info", msg, kv) }
func (l jsonLogger) Error(msg string, kv ...interface{}) { l.line("error", msg, kv) }
func (l jsonLogger) Warn(msg string, kv ...interface{})  { l.line("warn", msg, kv) } // v0.39+ loggers
func (l jsonLogger) With(kv ...interface{}) log.Logger {
	return jsonLogger{ctx: append(append([]interface{}{}, l.ctx...), kv...)}
}

// rawMsg carries a channel message as opaque bytes: it marshals to and unmarshals from exactly its
// bytes, so the echo reactor returns what it got byte for byte.
type rawMsg struct{ data []byte }

func (m *rawMsg) Reset()                   { m.data = nil }
func (m *rawMsg) String() string           { return hex.EncodeToString(m.data) }
func (*rawMsg) ProtoMessage()              {}
func (m *rawMsg) Marshal() ([]byte, error) { return m.data, nil }
func (m *rawMsg) Unmarshal(b []byte) error { m.data = append([]byte(nil), b...); return nil }
func (m *rawMsg) Merge(src proto.Message)  { m.data = append([]byte(nil), src.(*rawMsg).data...) }

var _ proto.Message = (*rawMsg)(nil)

type echoReactor struct {
	p2p.BaseReactor
	channel byte
	// sink mode: count instead of echoing, and report once `expect` messages have arrived.
	sink      bool
	expect    int
	received  int
	bytes     int
	firstSeen time.Time
	mtx       sync.Mutex
}

func newEchoReactor(ch byte) *echoReactor {
	r := &echoReactor{channel: ch}
	r.BaseReactor = *p2p.NewBaseReactor("Echo", r)
	return r
}

func (r *echoReactor) GetChannels() []*conn.ChannelDescriptor {
	return []*conn.ChannelDescriptor{{
		ID: r.channel, Priority: 5, SendQueueCapacity: 100, RecvBufferCapacity: 4096,
		RecvMessageCapacity: 22020096, MessageType: &rawMsg{},
	}}
}

func (r *echoReactor) Receive(e p2p.Envelope) {
	data := e.Message.(*rawMsg).data
	r.mtx.Lock()
	sink := r.sink
	r.mtx.Unlock()
	if sink {
		r.mtx.Lock()
		if r.received == 0 {
			r.firstSeen = time.Now()
		}
		r.received++
		r.bytes += len(data)
		done := r.expect > 0 && r.received == r.expect
		n, b, secs := r.received, r.bytes, time.Since(r.firstSeen).Seconds()
		r.mtx.Unlock()
		if done {
			emit(map[string]interface{}{"event": "sink_done", "messages": n, "bytes": b, "seconds": secs})
		}
		return
	}
	sum := sha256.Sum256(data)
	emit(map[string]interface{}{"event": "received", "id": string(e.Src.ID()), "channel": int(e.ChannelID), "size": len(data), "sha256": hex.EncodeToString(sum[:])})
	if !sendTo(e.Src, p2p.Envelope{ChannelID: r.channel, Message: &rawMsg{data: data}}) {
		emit(map[string]interface{}{"event": "echo_failed", "id": string(e.Src.ID())})
	}
}

// monitor reports peers as they come and go; it owns no channel.
type monitor struct{ p2p.BaseReactor }

func newMonitor() *monitor {
	m := &monitor{}
	m.BaseReactor = *p2p.NewBaseReactor("Monitor", m)
	return m
}

func (m *monitor) AddPeer(p p2p.Peer) {
	emit(map[string]interface{}{"event": "peer_added", "id": string(p.ID()), "remote": p.RemoteAddr().String(), "moniker": p.NodeInfo().(p2p.DefaultNodeInfo).Moniker, "outbound": p.IsOutbound()})
}

func (m *monitor) RemovePeer(p p2p.Peer, reason interface{}) {
	emit(map[string]interface{}{"event": "peer_removed", "id": string(p.ID()), "reason": fmt.Sprint(reason)})
}

func splitList(s string) []string {
	var r []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			r = append(r, x)
		}
	}
	return r
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func fail(format string, args ...interface{}) {
	emit(map[string]interface{}{"event": "fatal", "error": fmt.Sprintf(format, args...)})
	os.Exit(1)
}

// cometVersion is the CometBFT release this binary was built against (go.mod or go.v1.mod).
func cometVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/cometbft/cometbft" || dep.Path == "github.com/tendermint/tendermint" { // v0.34's module name
				return strings.TrimPrefix(dep.Version, "v")
			}
		}
	}
	return "unknown"
}

func main() {
	cmt := cometVersion()
	defaultP2P := uint64(8)
	if strings.HasPrefix(cmt, "1.") {
		defaultP2P = 9 // CometBFT v1.x announces p2p protocol 9
	}
	nodeKeyFile := flag.String("node-key", "node_key.json", "node_key.json path (created if missing)")
	chainID := flag.String("chain-id", "interop-chain", "network (chain id)")
	host := flag.String("host", "127.0.0.1", "listen host")
	port := flag.Int("port", 0, "listen port (0 = pick a free one)")
	moniker := flag.String("moniker", "cmtpeer", "moniker")
	seeds := flag.String("seeds", "", "comma-separated id@host:port seeds")
	persistent := flag.String("persistent-peers", "", "comma-separated id@host:port persistent peers")
	dial := flag.String("dial", "", "comma-separated id@host:port to dial once at start")
	usePex := flag.Bool("pex", false, "run the PEX reactor")
	seedMode := flag.Bool("seed-mode", false, "PEX seed (crawler) mode")
	addrBook := flag.String("addrbook", "addrbook.json", "address book path")
	strict := flag.Bool("addrbook-strict", false, "refuse non-routable addresses")
	ensurePeers := flag.Duration("ensure-peers-period", 30*time.Second, "PEX ensurePeers period")
	sendRate := flag.Int64("send-rate", 5120000, "bytes/s")
	recvRate := flag.Int64("recv-rate", 5120000, "bytes/s")
	echoChannel := flag.Int("echo-channel", 0x7e, "echo reactor channel (-1: none)")
	pingInterval := flag.Duration("ping-interval", 60*time.Second, "MConnection ping interval")
	pongTimeout := flag.Duration("pong-timeout", 45*time.Second, "MConnection pong timeout")
	flushThrottle := flag.Duration("flush-throttle", 100*time.Millisecond, "MConnection flush throttle")
	maxInbound := flag.Int("max-inbound", 40, "max inbound peers")
	maxOutbound := flag.Int("max-outbound", 10, "max outbound peers")
	version := flag.String("version", cmt, "software version in NodeInfo")
	sink := flag.Bool("sink", false, "echo reactor counts instead of echoing")
	sinkExpect := flag.Int("sink-expect", 0, "sink: report sink_done after this many messages")
	blast := flag.String("blast", "", "id@host:port: dial it and send -blast-count messages of -blast-size bytes on the echo channel")
	blastSize := flag.Int("blast-size", 65536, "bytes per blasted message")
	blastCount := flag.Int("blast-count", 1000, "messages to blast")
	rttCount := flag.Int("rtt-count", 0, "with -blast: instead measure echo round trips of -blast-size bytes, this many times")
	p2pVersion := flag.Uint64("p2p-version", defaultP2P, "p2p protocol version in NodeInfo")
	flag.Parse()

	nodeKey, err := p2p.LoadOrGenNodeKey(*nodeKeyFile)
	if err != nil {
		fail("node key: %v", err)
	}
	if *port == 0 {
		*port = freePort()
	}
	listen := fmt.Sprintf("%s:%d", *host, *port)

	cfg := config.DefaultP2PConfig()
	cfg.ListenAddress = "tcp://" + listen
	cfg.Seeds = *seeds
	cfg.PersistentPeers = *persistent
	cfg.PexReactor = *usePex
	cfg.SeedMode = *seedMode
	cfg.AddrBookStrict = *strict
	cfg.SendRate = *sendRate
	cfg.RecvRate = *recvRate
	cfg.FlushThrottleTimeout = *flushThrottle
	cfg.MaxNumInboundPeers = *maxInbound
	cfg.MaxNumOutboundPeers = *maxOutbound
	cfg.AllowDuplicateIP = true

	var channels []byte
	var echo *echoReactor
	if *echoChannel >= 0 {
		echo = newEchoReactor(byte(*echoChannel))
		echo.sink = *sink
		echo.expect = *sinkExpect
		channels = append(channels, byte(*echoChannel))
	}
	if *usePex {
		channels = append(channels, pex.PexChannel)
	}
	prio := newPrioSinkFromFlags() // nil unless -prio-sink (prio_sink.go)
	if prio != nil {
		channels = append(channels, prio.high, prio.low)
	}

	nodeInfo := p2p.DefaultNodeInfo{
		ProtocolVersion: p2p.NewProtocolVersion(*p2pVersion, 11, 0),
		DefaultNodeID:   nodeKey.ID(),
		ListenAddr:      cfg.ListenAddress,
		Network:         *chainID,
		Version:         *version,
		Channels:        channels,
		Moniker:         *moniker,
		Other:           p2p.DefaultNodeInfoOther{TxIndex: "off"},
	}

	mConfig := p2p.MConnConfig(cfg)
	mConfig.PingInterval = *pingInterval
	mConfig.PongTimeout = *pongTimeout
	transport := p2p.NewMultiplexTransport(nodeInfo, *nodeKey, mConfig)
	addr, err := p2p.NewNetAddressString(p2p.IDAddressString(nodeKey.ID(), listen))
	if err != nil {
		fail("listen address: %v", err)
	}
	if err := transport.Listen(*addr); err != nil {
		fail("listen: %v", err)
	}

	logger := jsonLogger{}
	sw := p2p.NewSwitch(cfg, transport)
	sw.SetLogger(logger.With("module", "p2p"))
	sw.SetNodeInfo(nodeInfo)
	sw.SetNodeKey(nodeKey)
	sw.AddReactor("MONITOR", newMonitor())
	if prio != nil {
		sw.AddReactor("PRIO", prio)
	}
	if echo != nil {
		echo.SetLogger(logger.With("module", "echo"))
		sw.AddReactor("ECHO", echo)
	}
	var book pex.AddrBook
	if *usePex {
		book = pex.NewAddrBook(*addrBook, *strict)
		book.SetLogger(logger.With("module", "addrbook"))
		book.AddOurAddress(addr)
		sw.SetAddrBook(book)
		r := pex.NewReactor(book, &pex.ReactorConfig{
			SeedMode:                 *seedMode,
			Seeds:                    splitList(*seeds),
			SeedDisconnectWaitPeriod: 28 * time.Hour,
		})
		r.SetEnsurePeersPeriod(*ensurePeers)
		r.SetLogger(logger.With("module", "pex"))
		sw.AddReactor("PEX", r)
	}

	if err := sw.Start(); err != nil {
		fail("start: %v", err)
	}
	emit(map[string]interface{}{"event": "listening", "id": string(nodeKey.ID()), "addr": p2p.IDAddressString(nodeKey.ID(), listen), "cometbft": cmt})

	if p := splitList(*persistent); len(p) > 0 {
		if err := sw.AddPersistentPeers(p); err != nil {
			fail("persistent peers: %v", err)
		}
		if err := sw.DialPeersAsync(p); err != nil {
			fail("dial persistent peers: %v", err)
		}
	}
	if d := splitList(*dial); len(d) > 0 {
		if err := sw.DialPeersAsync(d); err != nil {
			fail("dial: %v", err)
		}
	}

	if *blast != "" && echo != nil {
		go runBlast(sw, echo, *blast, *blastSize, *blastCount, *rttCount)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	_ = sw.Stop()
	if book != nil {
		book.Save()
	}
	emit(map[string]interface{}{"event": "stopped"})
}

// runBlast dials `target` and either sends `count` messages as fast as the connection takes them
// (throughput, measured by the receiver) or measures `rtt` echo round trips.
func runBlast(sw *p2p.Switch, echo *echoReactor, target string, size, count, rtt int) {
	echo.mtx.Lock()
	echo.sink = true // the blaster never echoes
	echo.mtx.Unlock()
	addr, err := p2p.NewNetAddressString(target)
	if err != nil {
		fail("blast address: %v", err)
	}
	if err := sw.DialPeerWithAddress(addr); err != nil {
		fail("blast dial: %v", err)
	}
	peer := sw.Peers().Get(addr.ID)
	if peer == nil {
		fail("blast: peer not connected")
	}
	msg := make([]byte, size)
	if rtt > 0 {
		samples := make([]float64, 0, rtt)
		for i := 0; i < rtt+50; i++ {
			echo.mtx.Lock()
			before := echo.received
			echo.mtx.Unlock()
			t0 := time.Now()
			sendTo(peer, p2p.Envelope{ChannelID: echo.channel, Message: &rawMsg{data: msg}})
			for {
				echo.mtx.Lock()
				got := echo.received
				echo.mtx.Unlock()
				if got > before {
					break
				}
				time.Sleep(20 * time.Microsecond)
			}
			if i >= 50 {
				samples = append(samples, float64(time.Since(t0).Microseconds()))
			}
		}
		sortFloats(samples)
		emit(map[string]interface{}{"event": "rtt_done", "p50_us": samples[len(samples)/2], "p99_us": samples[len(samples)*99/100]})
		return
	}
	t0 := time.Now()
	for i := 0; i < count; i++ {
		if !sendTo(peer, p2p.Envelope{ChannelID: echo.channel, Message: &rawMsg{data: msg}}) {
			fail("blast: send %d failed", i)
		}
	}
	emit(map[string]interface{}{"event": "blast_sent", "messages": count, "seconds": time.Since(t0).Seconds()})
}

func sortFloats(a []float64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

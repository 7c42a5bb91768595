package main

// The priority benchmark's receiver (bench/src/priority.ts, formats in bench/src/priority-messages.ts):
// with -prio-sink the node owns two channels, an urgent one (-prio-high) and a bulk one (-prio-low),
// checks every message it gets on them (order, size, content) and times the urgent ones against the
// send time they carry (CLOCK_MONOTONIC, shared by every process on the host). When a peer leaves it prints that peer's tally:
//
//	{"event":"prio_report","id":…,"high_count":…,"low_count":…,"low_bytes_in_window":…,
//	 "window_ms":…,"latencies_ms":[…],"errors":[…]}

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"sync"

	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/p2p/conn"
	"golang.org/x/sys/unix"
)

var (
	prioSinkMode = flag.Bool("prio-sink", false, "priority benchmark receiver on channels -prio-high and -prio-low (use with -echo-channel -1)")
	prioHighCh   = flag.Int("prio-high", 0x20, "prio-sink: urgent channel")
	prioLowCh    = flag.Int("prio-low", 0x30, "prio-sink: bulk channel")
)

const (
	prioHighSize = 100
	prioBulkSize = 64 * 1024
)

var prioBulkPattern = func() []byte {
	b := make([]byte, prioBulkSize)
	for i := range b {
		b[i] = byte(i*31 + 7)
	}
	return b
}()

type prioTally struct {
	nextHigh, nextLow               uint32
	lowBytes, lowAtFirst, lowAtLast int
	firstHigh, lastHigh             float64
	latencies                       []float64
	errors                          []string
}

func (t *prioTally) fail(format string, args ...interface{}) {
	if len(t.errors) < 10 {
		t.errors = append(t.errors, fmt.Sprintf(format, args...))
	}
}

type prioSink struct {
	p2p.BaseReactor
	high, low byte
	mtx       sync.Mutex
	tallies   map[p2p.ID]*prioTally
}

// newPrioSinkFromFlags returns the reactor when -prio-sink was given, else nil.
func newPrioSinkFromFlags() *prioSink {
	if !*prioSinkMode {
		return nil
	}
	r := &prioSink{high: byte(*prioHighCh), low: byte(*prioLowCh), tallies: map[p2p.ID]*prioTally{}}
	r.BaseReactor = *p2p.NewBaseReactor("PrioSink", r)
	return r
}

func (r *prioSink) GetChannels() []*conn.ChannelDescriptor {
	return []*conn.ChannelDescriptor{
		{ID: r.high, Priority: 10, SendQueueCapacity: 1, RecvBufferCapacity: 4096, RecvMessageCapacity: 1 << 20, MessageType: &rawMsg{}},
		{ID: r.low, Priority: 1, SendQueueCapacity: 1, RecvBufferCapacity: 4096, RecvMessageCapacity: 1 << 20, MessageType: &rawMsg{}},
	}
}

func (r *prioSink) AddPeer(p p2p.Peer) {
	r.mtx.Lock()
	r.tallies[p.ID()] = &prioTally{}
	r.mtx.Unlock()
}

// wallMs reads CLOCK_MONOTONIC, the clock the Node sender stamps urgent messages with.
func wallMs() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		fail("clock_gettime: %v", err)
	}
	return float64(ts.Sec)*1e3 + float64(ts.Nsec)/1e6
}

func (r *prioSink) Receive(e p2p.Envelope) {
	now := wallMs()
	data := e.Message.(*rawMsg).data
	r.mtx.Lock()
	defer r.mtx.Unlock()
	t := r.tallies[e.Src.ID()]
	if t == nil {
		return
	}
	switch e.ChannelID {
	case r.high:
		if len(data) != prioHighSize {
			t.fail("urgent message of %d bytes", len(data))
			return
		}
		seq := binary.LittleEndian.Uint32(data)
		if seq != t.nextHigh {
			t.fail("urgent message %d where %d was due", seq, t.nextHigh)
			return
		}
		for i := 12; i < prioHighSize; i++ {
			if data[i] != byte(seq) {
				t.fail("urgent message %d corrupted at byte %d", seq, i)
				return
			}
		}
		t.nextHigh++
		sent := math.Float64frombits(binary.LittleEndian.Uint64(data[4:]))
		t.latencies = append(t.latencies, now-sent)
		if t.firstHigh == 0 {
			t.firstHigh, t.lowAtFirst = now, t.lowBytes
		}
		t.lastHigh, t.lowAtLast = now, t.lowBytes
	case r.low:
		if len(data) != prioBulkSize {
			t.fail("bulk message of %d bytes", len(data))
			return
		}
		seq := binary.LittleEndian.Uint32(data)
		if seq != t.nextLow {
			t.fail("bulk message %d where %d was due", seq, t.nextLow)
			return
		}
		if !bytes.Equal(data[4:], prioBulkPattern[4:]) {
			t.fail("bulk message %d corrupted", seq)
			return
		}
		t.nextLow++
		t.lowBytes += len(data)
	}
}

func (r *prioSink) RemovePeer(p p2p.Peer, _ interface{}) {
	r.mtx.Lock()
	t := r.tallies[p.ID()]
	delete(r.tallies, p.ID())
	r.mtx.Unlock()
	if t == nil {
		return
	}
	emit(map[string]interface{}{
		"event": "prio_report", "id": string(p.ID()), "high_count": t.nextHigh, "low_count": t.nextLow,
		"low_bytes_in_window": t.lowAtLast - t.lowAtFirst, "window_ms": t.lastHigh - t.firstHigh,
		"latencies_ms": t.latencies, "errors": t.errors,
	})
}

package main

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"time"

	"github.com/swarmmq/swarmmq/conf/clientconf"
)

// source yields the payloads to publish. A payload is valid until the next
// call (the client copies it). Not safe for concurrent use.
type source interface {
	// next returns the next payload, or ok == false at the end.
	next() (payload []byte, ok bool, err error)
	// total returns how many payloads there will be, 0 if unknown.
	total() int
}

// newSource picks the source the flags describe: --stdin lines, --message
// text, or --size filler.
func newSource(f clientconf.ProducerFlags, stdin io.Reader, maxLine int) source {
	switch {
	case f.Stdin:
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 0, min(64<<10, maxLine)), maxLine)
		return &lineSource{sc: sc, limit: f.Count}
	case f.Message != "":
		return &textSource{text: f.Message, count: max(f.Count, 1)}
	default:
		size := f.Size
		if size == 0 {
			size = clientconf.DefaultSize
		}
		return &fillSource{payload: filler(size), count: max(f.Count, 1)}
	}
}

// textSource yields count messages: the text itself when count is 1, else
// text-1, text-2, … text-count.
type textSource struct {
	text  string
	count int
	i     int
	buf   []byte
}

func (s *textSource) next() ([]byte, bool, error) {
	if s.i >= s.count {
		return nil, false, nil
	}
	s.i++
	s.buf = append(s.buf[:0], s.text...)
	if s.count > 1 {
		s.buf = strconv.AppendInt(append(s.buf, '-'), int64(s.i), 10)
	}
	return s.buf, true, nil
}

func (s *textSource) total() int { return s.count }

// fillSource yields count copies of one payload.
type fillSource struct {
	payload []byte
	count   int
	i       int
}

func (s *fillSource) next() ([]byte, bool, error) {
	if s.i >= s.count {
		return nil, false, nil
	}
	s.i++
	return s.payload, true, nil
}

func (s *fillSource) total() int { return s.count }

// filler returns size printable bytes: "abcdefghijklmnopqrstuvwxyz" repeated.
func filler(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// lineSource yields the lines of a reader (without "\n" or "\r\n"), at most
// limit of them when limit > 0.
type lineSource struct {
	sc    *bufio.Scanner
	limit int
	i     int
}

func (s *lineSource) next() ([]byte, bool, error) {
	if s.limit > 0 && s.i >= s.limit {
		return nil, false, nil
	}
	if !s.sc.Scan() {
		return nil, false, s.sc.Err()
	}
	s.i++
	return bytes.TrimSuffix(s.sc.Bytes(), []byte{'\r'}), true, nil
}

func (s *lineSource) total() int { return s.limit }

// pacer spaces messages evenly: message i (from 0) is due at start +
// i/rate seconds. A rate <= 0 means no limit.
type pacer struct {
	rate  float64
	start time.Time
}

// delay returns how long message i must still wait at now.
func (p pacer) delay(i int, now time.Time) time.Duration {
	if p.rate <= 0 {
		return 0
	}
	due := p.start.Add(time.Duration(float64(i) / p.rate * float64(time.Second)))
	return max(due.Sub(now), 0)
}

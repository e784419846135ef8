package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"golang.org/x/sync/errgroup"

	"github.com/shardline/shardline/internal/envelope"
)

const (
	// shardWriteLimit is Kinesis's write limit per shard: 1,000 records per second.
	shardWriteLimit = 1000
	// shardLimitKeys is how many distinct objects the load cycles through (≥ 1,000).
	shardLimitKeys = 10000
	// shardLimitTick is how often the load puts one PutRecords call's worth of records.
	shardLimitTick = 100 * time.Millisecond
	// DefaultShardLimitDuration is how long each shard-limit run offers its load.
	DefaultShardLimitDuration = 60 * time.Second
)

// shardLimitRun is what one shard-limit run measured.
type shardLimitRun struct {
	shards            int
	offered           int           // records put
	loadFor           time.Duration // from the first put to the last
	offeredRate       float64       // records per second over loadFor
	processedRate     float64       // worker: records per second in the steady window
	window            time.Duration // the steady window: loadFor without its first part
	drained           time.Duration // from the last put until the worker finished every record
	ageP50, ageP99    time.Duration
	ageMax            time.Duration
	workerCPU, kclCPU cpuTime // during the load, until each had processed every record
	workerN, kclN     int64   // records each had processed when its CPU was read
	kclDrained        time.Duration
	kclErr            error // the baseline could not be measured
	// unfinished and kclUnfinished are the records a consumer had not finished
	// shardLimitDrain after the last put (then drained is that long).
	unfinished, kclUnfinished int64
}

// shardLimitDrain bounds the wait for a consumer to finish every record after the load: one
// that needs longer has missed the age target (≤ 2 s) by far, and its figures are taken then.
const shardLimitDrain = 30 * time.Second

// errTimedOut is wrapped by a consumer wait that reached its timeout.
var errTimedOut = errors.New("timed out")

// doneNote says when a consumer finished every record, or how many it had not finished.
func doneNote(drained time.Duration, unfinished int64) string {
	if unfinished > 0 {
		return fmt.Sprintf("%d records not done %s after the last put", unfinished, ms(drained))
	}
	return "all done " + ms(drained) + " after the last put"
}

func (r *runner) shardLimitSection(ctx context.Context, t *table) {
	const sec = SectionShardLimit
	const cpuSec = "worker CPU"
	for _, shards := range []int{1, 2} {
		rate := shards * shardWriteLimit
		label := fmt.Sprintf("%d shard", shards)
		if shards > 1 {
			label += "s"
		}
		label += fmt.Sprintf(", %d records/s", rate)
		r.cfg.Progress.Info("shard-limit: load at the write limit, AWS latency", "shards", shards, "records_per_second", rate, "for", r.cfg.ShardLimitDuration)
		run, err := r.shardLimitRun(ctx, shards)
		if err != nil {
			t.fail(sec, label+": processed ÷ offered", "≥ 99%", err)
			continue
		}
		ratio := run.processedRate / run.offeredRate
		t.add(row{section: sec, what: label + ": processed ÷ offered", figure: fmt.Sprintf("%.1f%%", 100*ratio),
			target: "≥ 99%", met: yesNo(ratio >= 0.99),
			note: fmt.Sprintf("offered %s for %s (%d records, %d objects); worker %s over the last %s; %s; no-op handler, 1 worker; %s",
				perSecond(run.offeredRate, "records/s"), ms(run.loadFor), run.offered, min(shardLimitKeys, run.offered),
				perSecond(run.processedRate, "records/s"), ms(run.window), doneNote(run.drained, run.unfinished), latencySummary)})
		age, ageNote := ms(run.ageP99), fmt.Sprintf("put (ForwardedAt, just before PutRecords) → handler call; p50 %s, max %s", ms(run.ageP50), ms(run.ageMax))
		if run.unfinished > 0 {
			// The records not done are older than the drain bound: with more than 1 % of them
			// the p99 is beyond it, otherwise at least the p99 of those done.
			age, ageNote = "≥ "+age, ageNote+fmt.Sprintf(" of the %d records done; %d not done, each older than %s", int64(run.offered)-run.unfinished, run.unfinished, ms(run.drained))
			if run.unfinished*100 > int64(run.offered) {
				age = "> " + ms(run.drained)
			}
		}
		t.add(row{section: sec, what: label + ": record age at processing, p99", figure: age,
			target: "≤ 2 s", met: yesNo(run.unfinished == 0 && run.ageP99 <= 2*time.Second), note: ageNote})
		perEvent := run.workerCPU.total() / time.Duration(max(run.workerN, 1))
		t.add(row{section: cpuSec, what: label + ": shardline worker, CPU per event", figure: usPerEvent(perEvent),
			target: "≤ 0.1 ms", met: yesNo(perEvent <= 100*time.Microsecond),
			note: fmt.Sprintf("user %s + system %s over %d events (own process; ledger read + conditional write, checkpoints, lease renewals included)",
				ms(run.workerCPU.user), ms(run.workerCPU.system), run.workerN)})
		if run.kclErr != nil {
			t.fail(cpuSec, label+": bare vmware-go-kcl-v2, CPU per record", "", run.kclErr)
			continue
		}
		kclPer := run.kclCPU.total() / time.Duration(max(run.kclN, 1))
		t.add(row{section: cpuSec, what: label + ": bare vmware-go-kcl-v2, CPU per record", figure: usPerEvent(kclPer),
			note: fmt.Sprintf("same stream, same run: library defaults, its DynamoDB checkpointer, no-op processor checkpointing each batch; %d records, %s; worker ÷ bare KCL = %.1f×",
				run.kclN, doneNote(run.kclDrained, run.kclUnfinished), float64(perEvent)/float64(max(kclPer, 1)))})
	}
}

// usPerEvent renders a CPU time per event in milliseconds with µs precision.
func usPerEvent(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}

// shardLimitRun creates a stream of the given shards, starts the shardline worker and the bare
// KCL in child processes behind latency-only API proxies, offers shards × 1,000 records/s for
// ShardLimitDuration, waits until both consumers finished every record, and returns what it
// measured.
func (r *runner) shardLimitRun(ctx context.Context, shards int) (run shardLimitRun, err error) {
	run.shards = shards
	c := r.cfg.Clients
	res, err := r.create(ctx, "shardlimit", int32(shards), false, "")
	if err != nil {
		return run, err
	}
	kclTable := res.stream + "-kcl"
	defer func() {
		r.remove(res)
		dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, derr := c.DynamoDB.DeleteTable(dctx, &dynamodb.DeleteTableInput{TableName: aws.String(kclTable)}); derr != nil {
			r.warnUnlessGone("delete table", kclTable, derr)
		}
	}()
	px, err := startAWSProxies(ctx, os.Getenv("AWS_ENDPOINT_URL_KINESIS"), os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), os.Getenv("AWS_ENDPOINT_URL_S3"), uint64(time.Now().UnixNano()))
	if err != nil {
		return run, err
	}
	defer func() {
		if perr := px.stop(); perr != nil && err == nil {
			err = perr
		}
	}()

	common := []string{"-stream", res.stream, "-region", c.Config.Region}
	if r.cfg.LogDir != "" {
		common = append(common, "-log-file", filepath.Join(r.cfg.LogDir, "bench-consumers.log"))
	}
	wk, err := r.startConsumer(ctx, px.env(), WorkerChildCommand, append(common, "-leases", res.leases, "-ledger", res.ledger, "-dead-letters", res.deadLetters))
	if err != nil {
		return run, err
	}
	defer func() {
		if serr := wk.stop(); serr != nil && err == nil {
			err = fmt.Errorf("worker child: %w", serr)
		}
	}()
	kc, err := r.startConsumer(ctx, px.env(), KCLChildCommand, append(common, "-leases", kclTable))
	if err != nil {
		return run, err
	}
	defer func() { _ = kc.stop() }() // the baseline's own failures are reported in its row
	if err := wk.waitShards(ctx, shards, time.Minute); err != nil {
		return run, fmt.Errorf("shardline worker: %w", err)
	}
	run.kclErr = kc.waitShards(ctx, shards, time.Minute)

	// The load goes through the Kinesis proxy too: a record's age includes its PutRecords.
	putClient := kinesis.NewFromConfig(c.Config, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(px.kinesis.URL()) })
	start := time.Now()
	wCPU0, _ := wk.cpu()
	kCPU0, _ := kc.cpu()
	offered, last, err := offerLoad(ctx, putClient, res.stream, shards*shardWriteLimit, r.cfg.ShardLimitDuration)
	if err != nil {
		return run, err
	}
	run.offered, run.loadFor = offered, last.Sub(start)
	run.offeredRate = float64(offered) / max(run.loadFor.Seconds(), shardLimitTick.Seconds())

	// A consumer that has not finished shardLimitDrain after the last put has failed the age
	// target whatever it does next: its figures are taken then, with what it had finished.
	wAt, err := wk.waitProcessed(ctx, int64(offered), time.Until(last.Add(shardLimitDrain)))
	switch {
	case errors.Is(err, errTimedOut):
		wAt, run.unfinished = time.Now(), int64(offered)-wk.processed()
	case err != nil:
		return run, fmt.Errorf("shardline worker: %w", err)
	}
	run.workerCPU = wk.cpuAt(wAt).minus(wCPU0)
	run.workerN = wk.processedAt(wAt)
	run.drained = wAt.Sub(last)
	// Steady window: the load without its first sixth (at most 10 s), so that taking the first
	// batches does not count; the worker's rate in it is compared with the rate offered.
	warm := min(run.loadFor/6, 10*time.Second)
	run.window = run.loadFor - warm
	n0, n1 := wk.processedAt(start.Add(warm)), wk.processedAt(last)
	run.processedRate = float64(n1-n0) / max(run.window.Seconds(), 0.001)

	if run.kclErr == nil {
		var kAt time.Time
		kAt, kerr := kc.waitProcessed(ctx, int64(offered), max(time.Until(last.Add(shardLimitDrain)), time.Second))
		switch {
		case errors.Is(kerr, errTimedOut):
			kAt, run.kclUnfinished = time.Now(), int64(offered)-kc.processed()
		case kerr != nil:
			run.kclErr = kerr
		}
		run.kclCPU = kc.cpuAt(kAt).minus(kCPU0)
		run.kclN = kc.processedAt(kAt)
		run.kclDrained = kAt.Sub(last)
	}
	if err := wk.stop(); err != nil {
		return run, fmt.Errorf("worker child: %w", err)
	}
	final := wk.final()
	if final == nil || final.Ages == 0 {
		return run, errors.New("the worker child reported no record ages")
	}
	run.ageP50, run.ageP99, run.ageMax = final.AgeP50, final.AgeP99, final.AgeMax
	return run, nil
}

// offerLoad puts rate records per second on stream for d, one PutRecords call every
// shardLimitTick (calls in flight as needed, so the pace does not depend on the call's
// latency), each record a put of one of shardLimitKeys objects with a sequencer greater than
// all before it, stamped ForwardedAt just before its call. It returns how many records it put
// and when the last call returned.
func offerLoad(ctx context.Context, kc *kinesis.Client, stream string, rate int, d time.Duration) (int, time.Time, error) {
	perTick := rate * int(shardLimitTick) / int(time.Second)
	ticks := int(d / shardLimitTick)
	base := uint64(time.Now().UnixNano())
	var (
		put      atomic.Int64
		lastMu   sync.Mutex
		last     time.Time
		seq      uint64
		sendLoad errgroup.Group
	)
	sendLoad.SetLimit(32)
	err := paced(ctx, ticks, shardLimitTick, func(int) error {
		events := make([]envelope.Event, perTick)
		for j := range events {
			seq++
			ev, err := syntheticEvent("bench-shardlimit", fmt.Sprintf("obj/%06d.jpg", seq%shardLimitKeys), base+seq)
			if err != nil {
				return err
			}
			events[j] = ev
		}
		entries, err := recordsOf(events, time.Now().UTC())
		if err != nil {
			return err
		}
		sendLoad.Go(func() error {
			n, err := putAll(ctx, kc, stream, entries)
			put.Add(int64(n))
			lastMu.Lock()
			last = time.Now()
			lastMu.Unlock()
			return err
		})
		return nil
	})
	if err != nil {
		_ = sendLoad.Wait()
		return 0, time.Time{}, err
	}
	if err := sendLoad.Wait(); err != nil {
		return 0, time.Time{}, err
	}
	return int(put.Load()), last, nil
}

// putAll puts entries with PutRecords, re-sending refused records (a throttled shard) after a
// short pause, up to 10 times.
func putAll(ctx context.Context, kc *kinesis.Client, stream string, entries []kintypes.PutRecordsRequestEntry) (int, error) {
	done := 0
	for attempt := 1; len(entries) > 0; attempt++ {
		out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
		if err != nil {
			return done, fmt.Errorf("PutRecords: %w", err)
		}
		var again []kintypes.PutRecordsRequestEntry
		for i, res := range out.Records {
			if res.ErrorCode != nil {
				again = append(again, entries[i])
			}
		}
		done += len(entries) - len(again)
		if entries = again; len(entries) > 0 {
			if attempt >= 10 {
				return done, fmt.Errorf("PutRecords: %d records refused 10 times", len(entries))
			}
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				return done, ctx.Err()
			}
		}
	}
	return done, nil
}

// consumerProc is a running consumer child and what it reported.
type consumerProc struct {
	name string
	cmd  *exec.Cmd
	done chan error

	mu       sync.Mutex
	progress []childProgress // every line, in order
	last     *childProgress
	fin      *childProgress
	stopped  bool
	exitErr  error

	cpuSamples []cpuSample
}

// startConsumer runs the bench binary's consumer child command with env added to the
// environment, reading its progress lines from a pipe on file descriptor 3.
func (r *runner) startConsumer(ctx context.Context, env []string, command string, args []string) (*consumerProc, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(r.cfg.Binary, append([]string{command}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.ExtraFiles = []*os.File{pw}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("start %s: %w", command, err)
	}
	pw.Close()
	p := &consumerProc{name: command, cmd: cmd, done: make(chan error, 1)}
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var l childProgress
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue
			}
			p.mu.Lock()
			p.progress = append(p.progress, l)
			p.last = &p.progress[len(p.progress)-1]
			if l.Final {
				p.fin = p.last
			}
			p.mu.Unlock()
		}
		p.done <- cmd.Wait()
	}()
	context.AfterFunc(ctx, func() { _ = cmd.Process.Signal(syscall.SIGTERM) })
	go p.sampleCPU(ctx)
	return p, nil
}

func (p *consumerProc) snapshot() (childProgress, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		return childProgress{}, false
	}
	return *p.last, true
}

func (p *consumerProc) processed() int64 {
	l, _ := p.snapshot()
	return l.Processed
}

// processedAt is how many records the child had processed at t (its last report at or before t).
func (p *consumerProc) processedAt(t time.Time) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n int64
	for _, l := range p.progress {
		if l.At > t.UnixNano() {
			break
		}
		n = l.Processed
	}
	return n
}

func (p *consumerProc) final() *childProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fin
}

// waitShards waits until the child processes n shards.
func (p *consumerProc) waitShards(ctx context.Context, n int, timeout time.Duration) error {
	return p.waitFor(ctx, timeout, func(l childProgress) bool { return l.Shards >= n }, fmt.Sprintf("%d shards", n))
}

// waitProcessed waits until the child processed n records and returns when it first reported
// that.
func (p *consumerProc) waitProcessed(ctx context.Context, n int64, timeout time.Duration) (time.Time, error) {
	err := p.waitFor(ctx, timeout, func(l childProgress) bool { return l.Processed >= n }, fmt.Sprintf("%d records processed", n))
	if err != nil {
		return time.Time{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.progress {
		if l.Processed >= n {
			return time.Unix(0, l.At), nil
		}
	}
	return time.Now(), nil // unreachable: waitFor saw such a line
}

// sampleCPU reads the child's CPU time every 100 ms until it exits or ctx ends, so that cpuAt
// can tell the CPU time at the moment the child finished its work.
func (p *consumerProc) sampleCPU(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		c, err := p.cpu()
		if err != nil {
			return // exited
		}
		p.mu.Lock()
		p.cpuSamples = append(p.cpuSamples, cpuSample{at: time.Now(), cpu: c})
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// cpuAt is the child's CPU time in the first sample taken at or after t (the last sample if
// none was).
func (p *consumerProc) cpuAt(t time.Time) cpuTime {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.cpuSamples {
		if !s.at.Before(t) {
			return s.cpu
		}
	}
	if len(p.cpuSamples) == 0 {
		return cpuTime{}
	}
	return p.cpuSamples[len(p.cpuSamples)-1].cpu
}

type cpuSample struct {
	at  time.Time
	cpu cpuTime
}

func (p *consumerProc) waitFor(ctx context.Context, timeout time.Duration, cond func(childProgress) bool, what string) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if l, ok := p.snapshot(); ok && cond(l) {
			return nil
		}
		select {
		case err := <-p.done:
			p.done <- err
			l, _ := p.snapshot()
			return fmt.Errorf("%s exited (%v) while waiting for %s (processed %d)", p.name, err, what, l.Processed)
		case <-deadline.C:
			l, _ := p.snapshot()
			return fmt.Errorf("%s: %w after %s waiting for %s (processed %d, shards %d)", p.name, errTimedOut, timeout, what, l.Processed, l.Shards)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM once and waits for the child to exit (killing it after 30 s).
func (p *consumerProc) stop() error {
	p.mu.Lock()
	if p.stopped {
		err := p.exitErr
		p.mu.Unlock()
		return err
	}
	p.stopped = true
	p.mu.Unlock()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		err = fmt.Errorf("%s did not stop within 30 s: killed (%v)", p.name, <-p.done)
	}
	p.mu.Lock()
	p.exitErr = err
	p.mu.Unlock()
	return err
}

// cpuTime is a process's user and system CPU time.
type cpuTime struct{ user, system time.Duration }

func (c cpuTime) total() time.Duration { return c.user + c.system }
func (c cpuTime) minus(o cpuTime) cpuTime {
	return cpuTime{user: c.user - o.user, system: c.system - o.system}
}

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpu reads the child's CPU time so far from /proc/<pid>/stat (utime and stime, fields 14 and
// 15), while it runs.
func (p *consumerProc) cpu() (cpuTime, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return cpuTime{}, err
	}
	return parseProcStat(string(b))
}

// parseProcStat reads utime and stime from a /proc/<pid>/stat line.
func parseProcStat(s string) (cpuTime, error) {
	// The command name (field 2) is in parentheses and may hold spaces: count from after it.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return cpuTime{}, errors.New("unexpected /proc/pid/stat")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return cpuTime{}, errors.New("short /proc/pid/stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return cpuTime{}, err
	}
	return cpuTime{user: time.Duration(u) * clockTick, system: time.Duration(st) * clockTick}, nil
}

package resp

import (
	"sync"
	"time"
)

// workerIdle is how long a connection's worker waits for a command before
// it ends.
const workerIdle = 5 * time.Second

// workers runs a connection's concurrent commands on goroutines that outlive
// one command: a new goroutine's stack grows (and is copied) on every
// command, which on 2 cores cost a seventh of the CPU of a pipelined SET
// load. A worker ends after workerIdle without work, or when the connection
// ends. At most Config.PipelineWindow workers exist: a worker is busy only from the
// dispatch of a task until its done is closed, and the connection dispatches
// only while fewer than Config.PipelineWindow tasks are uncollected.
type workers struct {
	s         *Server
	idleAfter time.Duration  // workerIdle; tests shorten it
	wg        sync.WaitGroup // one per worker goroutine
	mu        struct {
		sync.Mutex
		idle   []*worker // ready for a task
		n      int       // workers running, idle or not; at most Config.PipelineWindow
		closed bool      // the connection has ended: no new worker, idle ones end
	}
}

// worker is one goroutine of a workers pool.
type worker struct {
	tasks chan *task // capacity 1: dispatch never blocks; closed to end the worker
}

// dispatch runs t on an idle worker, or on a new one.
func (p *workers) dispatch(t *task) {
	p.mu.Lock()
	if n := len(p.mu.idle); n > 0 {
		w := p.mu.idle[n-1]
		p.mu.idle = p.mu.idle[:n-1]
		p.mu.Unlock()
		w.tasks <- t
		return
	}
	p.mu.n++
	p.mu.Unlock()
	w := &worker{tasks: make(chan *task, 1)}
	w.tasks <- t
	p.wg.Add(1)
	go p.loop(w)
}

// loop runs the worker's tasks until it has been idle for workerIdle or the
// pool closes.
func (p *workers) loop(w *worker) {
	defer p.wg.Done()
	idle := time.NewTimer(p.idleAfter)
	defer idle.Stop()
	for {
		var t *task
		select {
		case t = <-w.tasks:
		case <-idle.C:
			if p.retire(w) {
				return
			}
			t = <-w.tasks // dispatched to at the moment it timed out
		}
		if t == nil { // closed
			p.exit()
			return
		}
		t.exec(p.s)
		// Idle again before t is done, so that the connection, which
		// dispatches only once a task is collected, finds this worker.
		if !p.ready(w) {
			close(t.done)
			return
		}
		close(t.done)
		idle.Reset(p.idleAfter)
	}
}

func (p *workers) exit() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.n--
}

// count returns the number of workers.
func (p *workers) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.n
}

// ready makes w idle; once the pool is closed it counts w out and returns
// false instead.
func (p *workers) ready(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.closed {
		p.mu.n--
		return false
	}
	p.mu.idle = append(p.mu.idle, w)
	return true
}

// retire removes the idle worker w and counts it out, unless a task was
// just dispatched to it.
func (p *workers) retire(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.mu.idle {
		if x == w {
			p.mu.idle = append(p.mu.idle[:i], p.mu.idle[i+1:]...)
			p.mu.n--
			return true
		}
	}
	return false
}

// close ends every worker and waits for them. REQUIRES: no task is running.
func (p *workers) close() {
	p.mu.Lock()
	p.mu.closed = true
	for _, w := range p.mu.idle {
		close(w.tasks)
	}
	p.mu.idle = nil
	p.mu.Unlock()
	p.wg.Wait()
}

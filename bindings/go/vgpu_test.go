package vgpu_test

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"example.invalid/vgpu"
)

const (
	gib    = uint64(1) << 30
	vmUUID = "0b7a4a70-1111-4222-8333-944455556666"
	uuid1  = "11111111-2222-4333-8444-555555555555"
)

// open opens a manager on the built-in simulated host, closed when the test ends.
func open(t *testing.T, opts vgpu.Options) *vgpu.Manager {
	t.Helper()
	m, err := vgpu.Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// hostFile writes a simulated host with two A16 GPUs; its ledger is host.json.ledger.
func hostFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "host.json")
	if err := os.WriteFile(path, []byte(`{"gpus": [{"model": "A16", "count": 2}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// must returns v, or panics (failing the test run with a stack trace) on an unexpected error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return v
}

func wantErr(t *testing.T, err error, target error) *vgpu.Error {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
	var e *vgpu.Error
	if !errors.As(err, &e) || e.Message == "" {
		t.Fatalf("%v is not a *vgpu.Error with a message", err)
	}
	return e
}

func firstGPU(t *testing.T, m *vgpu.Manager, model string) string {
	t.Helper()
	for _, g := range must(m.GPUs()) {
		if g.Model == model {
			return g.PCIAddress
		}
	}
	t.Fatalf("no %s", model)
	return ""
}

func count(t *testing.T, m *vgpu.Manager) int {
	t.Helper()
	return len(must(m.Instances()))
}

func TestVersionAndNames(t *testing.T) {
	if strings.Count(vgpu.Version(), ".") != 2 {
		t.Errorf("Version() = %q", vgpu.Version())
	}
	if major, minor := vgpu.ABIVersion(); major != vgpu.ABIVersionMajor || minor < vgpu.ABIVersionMinor {
		t.Errorf("ABIVersion() = %d.%d", major, minor)
	}
	f := vgpu.Features()
	for _, bit := range []vgpu.Feature{vgpu.FeatureSim, vgpu.FeatureSharedLedger, vgpu.FeatureCustomPolicy} {
		if f&bit == 0 {
			t.Errorf("Features() = %#x lacks %#x", f, bit)
		}
	}
	backends := strings.Join(must(vgpu.BackendNames()), ",")
	for _, b := range []string{"sim", "nvidia-vfio", "mdev", "nouveau"} {
		if !strings.Contains(backends, b) {
			t.Errorf("BackendNames() = %s lacks %s", backends, b)
		}
	}
	if p := must(vgpu.PolicyNames()); p[0] != "fragmentation-aware" {
		t.Errorf("PolicyNames() = %v", p)
	}
	if vgpu.StatusNoCapacity.String() != "no_capacity" || vgpu.Status(-99).String() != "unknown" {
		t.Errorf("Status.String() is wrong")
	}
}

// Every status the library names has a sentinel that matches it.
func TestSentinels(t *testing.T) {
	sentinels := map[vgpu.Status]error{
		vgpu.StatusInvalidArgument: vgpu.ErrInvalidArgument, vgpu.StatusNotFound: vgpu.ErrNotFound,
		vgpu.StatusNoCapacity: vgpu.ErrNoCapacity, vgpu.StatusBusy: vgpu.ErrBusy,
		vgpu.StatusNotSupported: vgpu.ErrNotSupported, vgpu.StatusPermission: vgpu.ErrPermission,
		vgpu.StatusVersionMismatch: vgpu.ErrVersionMismatch, vgpu.StatusConflict: vgpu.ErrConflict,
		vgpu.StatusIO: vgpu.ErrIO, vgpu.StatusInternal: vgpu.ErrInternal,
		vgpu.StatusBufferTooSmall: vgpu.ErrBufferTooSmall, vgpu.StatusNoMemory: vgpu.ErrNoMemory,
		vgpu.StatusBadHandle: vgpu.ErrBadHandle,
	}
	for code := vgpu.Status(-1); code.String() != "unknown"; code-- {
		s, ok := sentinels[code]
		if !ok {
			t.Fatalf("status %d (%s) has no sentinel", code, code)
		}
		if !errors.Is(&vgpu.Error{Code: code, Message: "x"}, s) || errors.Is(&vgpu.Error{Code: code - 1}, s) {
			t.Errorf("errors.Is is wrong for %s", code)
		}
	}
}

func TestDescribeAndGPUs(t *testing.T) {
	m := open(t, vgpu.Options{})
	info := must(m.Describe())
	if info.GPUCount != 7 || info.Backend != "sim" || info.Policy != "fragmentation-aware" || info.Ledger != "" {
		t.Errorf("Describe() = %+v", info)
	}
	gpus := must(m.GPUs())
	modes := map[vgpu.GPUMode]int{}
	a16 := 0
	for i, g := range gpus {
		if g.Index != i || len(g.PCIAddress) != 12 || g.VGPUCount != 0 {
			t.Errorf("GPU %d = %+v", i, g)
		}
		if g.Model == "NVIDIA A16" && g.FramebufferBytes == 16*gib {
			a16++
		}
		modes[g.Mode]++
	}
	if len(gpus) != 7 || a16 != 4 || modes[vgpu.ModeMixedSize] != 2 || modes[vgpu.ModeMIG] != 1 {
		t.Errorf("GPUs() = %+v", gpus)
	}
}

func TestTypesAndFindType(t *testing.T) {
	m := open(t, vgpu.Options{})
	types := must(m.Types(firstGPU(t, m, "NVIDIA A16")))
	var found *vgpu.Type
	for i := range types {
		if types[i].Name == "A16-2Q" {
			found = &types[i]
		}
	}
	if found == nil || found.FramebufferBytes != 2*gib || found.Series != 'Q' || found.MaxHeads != 4 ||
		found.MaxResolutionWidth != 3840 || found.MaxInstances != 8 || found.MIGBacked {
		t.Errorf("A16-2Q = %+v", found)
	}
	mig := must(m.FindType("A100D-3-40C"))
	if !mig.MIGBacked || mig.MIGProfile == "" || len(mig.Placements) == 0 || mig.FramebufferBytes != 40*gib {
		t.Errorf("A100D-3-40C = %+v", mig)
	}
	if tp := must(m.FindType("nvidia a16-2q")); tp.Name != "A16-2Q" {
		t.Errorf("FindType(loose) = %s", tp.Name)
	}
	_, err := m.FindType("A16-3Q")
	e := wantErr(t, err, vgpu.ErrNotFound)
	if e.Op != "vgpu_manager_find_type" || !strings.Contains(e.Error(), "A16-3Q") {
		t.Errorf("error = %v", e)
	}
	_, err = m.Types("not-an-address")
	wantErr(t, err, vgpu.ErrInvalidArgument)
	_, err = m.Types("0000:ff:1f.7")
	wantErr(t, err, vgpu.ErrNotFound)
}

func TestCreateDestroy(t *testing.T) {
	m := open(t, vgpu.Options{})
	made := must(m.Create(vgpu.Request{Type: "A16-4Q", Count: 2, Owner: "vm-1", VMUUID: vmUUID}))
	if len(made) != 2 || made[0].GPU == made[1].GPU || made[0].Type != "A16-4Q" {
		t.Fatalf("Create() = %+v", made)
	}
	v := made[0]
	if v.State != vgpu.StateActive || v.Owner != "vm-1" || v.VMUUID != vmUUID || v.PID != os.Getpid() ||
		v.CreatedAt.IsZero() || v.UpdatedAt.Before(v.CreatedAt) || len(v.UUID) != 36 {
		t.Errorf("vGPU = %+v", v)
	}
	if got := must(m.Instance(made[1].UUID)); got != made[1] {
		t.Errorf("Instance() = %+v, want %+v", got, made[1])
	}
	avail := must(m.Creatable(v.GPU))
	for _, a := range avail {
		if a.Type == "A16-4Q" && a.Remaining != 3 {
			t.Errorf("A16-4Q remaining = %d", a.Remaining)
		}
	}
	if count(t, m) != 2 {
		t.Errorf("%d instances", count(t, m))
	}
	for _, x := range made {
		if err := m.Destroy(x.UUID); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, m.Destroy(v.UUID), vgpu.ErrNotFound)
	_, err := m.Instance(v.UUID)
	wantErr(t, err, vgpu.ErrNotFound)
	if count(t, m) != 0 {
		t.Errorf("%d instances left", count(t, m))
	}
}

func TestCreateByRequirementAndConstraints(t *testing.T) {
	m := open(t, vgpu.Options{})
	v := must(m.Create(vgpu.Request{MinFramebufferBytes: 3 * gib, Series: 'Q', Model: "A16"}))
	if v[0].Type != "A16-4Q" {
		t.Errorf("by requirement: %s", v[0].Type)
	}
	l40s := firstGPU(t, m, "NVIDIA L40S")
	slot := uint32(16)
	pinned := vgpu.Request{Type: "L40S-8Q", AllowedGPUs: []string{l40s}, Placement: &slot}
	p := must(m.Create(pinned))
	if p[0].GPU != l40s || p[0].Placement != 16 {
		t.Errorf("pinned: %+v", p[0])
	}
	_, err := m.Create(pinned)
	wantErr(t, err, vgpu.ErrNoCapacity)
	if d := must(m.Create(vgpu.Request{Type: "L40S-8Q", DeniedGPUs: []string{l40s}})); d[0].GPU == l40s {
		t.Errorf("denied GPU used")
	}
	if u := must(m.Create(vgpu.Request{Type: "A16-1B", UUIDs: []string{uuid1}})); u[0].UUID != uuid1 {
		t.Errorf("UUID = %s", u[0].UUID)
	}
}

// Each error a caller can meet, from a real failure of the library.
func TestErrors(t *testing.T) {
	m := open(t, vgpu.Options{})
	host := hostFile(t)
	dir := filepath.Dir(host)

	t.Run("InvalidArgument", func(t *testing.T) {
		for _, r := range []vgpu.Request{
			{Type: "A16-2Q", MinHeads: 2}, {Series: 'X'}, {MinResolutionWidth: 1920},
			{Type: "A16-2Q", Affinity: 7}, {Type: "A16-2Q", VMUUID: "vm"},
			{Type: "A16-2Q", UUIDs: []string{uuid1, uuid1}}, {Type: "A16-2Q", Owner: strings.Repeat("x", 100)},
		} {
			_, err := m.Create(r)
			wantErr(t, err, vgpu.ErrInvalidArgument)
		}
		wantErr(t, m.Destroy("not-a-uuid"), vgpu.ErrInvalidArgument)
		wantErr(t, m.SetLog(func(vgpu.LogLevel, string) {}, 4), vgpu.ErrInvalidArgument)
	})
	t.Run("NotFound", func(t *testing.T) {
		_, err := m.Create(vgpu.Request{Type: "A16-2Q", AllowedGPUs: []string{"0000:99:00.0"}})
		wantErr(t, err, vgpu.ErrNotFound)
		_, err = vgpu.Open(vgpu.Options{SimHost: "/nonexistent/host.json"})
		wantErr(t, err, vgpu.ErrNotFound)
	})
	t.Run("NoCapacity", func(t *testing.T) {
		_, err := m.Create(vgpu.Request{Type: "A16-16Q", Count: 5})
		wantErr(t, err, vgpu.ErrNoCapacity)
		if count(t, m) != 0 {
			t.Errorf("not all or nothing")
		}
	})
	t.Run("Conflict", func(t *testing.T) {
		must(m.Create(vgpu.Request{Type: "A16-1B", UUIDs: []string{uuid1}}))
		_, err := m.Create(vgpu.Request{Type: "A16-1B", UUIDs: []string{uuid1}})
		wantErr(t, err, vgpu.ErrConflict)
	})
	t.Run("NotSupported", func(t *testing.T) {
		_, err := m.Restore() // the built-in host keeps no definitions
		wantErr(t, err, vgpu.ErrNotSupported)
	})
	t.Run("VersionMismatch", func(t *testing.T) {
		catalog := filepath.Join(dir, "future.json")
		if err := os.WriteFile(catalog, []byte(`{"schema": "vgpu-catalog/99", "gpus": []}`), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := vgpu.Open(vgpu.Options{Catalogs: []string{catalog}})
		wantErr(t, err, vgpu.ErrVersionMismatch)
	})
	t.Run("Permission", func(t *testing.T) {
		ledger := filepath.Join(dir, "shared.ledger")
		if err := os.WriteFile(ledger, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(ledger, 0o666); err != nil { // anyone could rewrite it: refused
			t.Fatal(err)
		}
		_, err := vgpu.Open(vgpu.Options{SimHost: host, Ledger: ledger})
		wantErr(t, err, vgpu.ErrPermission)
	})
	t.Run("IO", func(t *testing.T) {
		_, err := vgpu.Open(vgpu.Options{SimHost: host, Ledger: dir}) // a directory is no ledger
		e := wantErr(t, err, vgpu.ErrIO)
		if e.Errno != syscall.EISDIR || !errors.Is(err, syscall.EISDIR) {
			t.Errorf("errno = %v", e.Errno)
		}
	})
	t.Run("Errno", func(t *testing.T) {
		_, err := vgpu.Open(vgpu.Options{SimHost: "/nonexistent/host.json"})
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v does not unwrap to fs.ErrNotExist", err)
		}
	})
	t.Run("Busy", func(t *testing.T) { testBusy(t, host) })
}

// testBusy destroys a vGPU another live process is creating (vgpu_ledger_worker holds it).
func testBusy(t *testing.T, host string) {
	worker := os.Getenv("VGPU_LEDGER_WORKER")
	if worker == "" {
		t.Skip("VGPU_LEDGER_WORKER (the build's vgpu_ledger_worker) is not set")
	}
	m := open(t, vgpu.Options{SimHost: host})
	cmd := exec.Command(worker, "hold-create", host, host+".ledger", "A16-4Q")
	stdin := must(cmd.StdinPipe())
	stdout := must(cmd.StdoutPipe())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "reserved ") {
		t.Fatalf("worker said %q", lines.Text())
	}
	uuid := strings.TrimPrefix(lines.Text(), "reserved ")
	e := wantErr(t, m.Destroy(uuid), vgpu.ErrBusy)
	if !strings.Contains(e.Message, fmt.Sprintf("being created by process %d", cmd.Process.Pid)) {
		t.Errorf("message = %s", e.Message)
	}
	if v := must(m.Instance(uuid)); v.State != vgpu.StateReserved {
		t.Errorf("state = %s", v.State)
	}
	if r := must(m.Reconcile()); r.InProgress != 1 || len(r.Repairs) != 0 {
		t.Errorf("Reconcile() = %+v", r) // its process is alive: left alone
	}
	stdin.Close()
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "created ") {
		t.Fatalf("worker said %q", lines.Text())
	}
	if err := m.Destroy(uuid); err != nil {
		t.Fatal(err)
	}
}

func TestPlan(t *testing.T) {
	m := open(t, vgpu.Options{})
	plan := must(m.Plan([]vgpu.Request{
		{Type: "A16-8Q", Count: 2}, {Type: "A16-16Q", Count: 9}, {MinFramebufferBytes: 10 * gib},
	}))
	placed := map[int]int{}
	for _, e := range plan {
		if e.Err == nil {
			placed[e.Request]++
		} else if e.Request != 1 || !errors.Is(e.Err, vgpu.ErrNoCapacity) || e.Err.Error() == "" {
			t.Errorf("refusal %+v", e)
		}
	}
	if len(plan) != 4 || placed[0] != 2 || placed[1] != 0 || placed[2] != 1 {
		t.Errorf("Plan() = %+v", plan)
	}
	if count(t, m) != 0 {
		t.Errorf("planning created vGPUs")
	}
	if empty := must(m.Plan(nil)); len(empty) != 0 {
		t.Errorf("Plan(nil) = %v", empty)
	}
	_, err := m.Plan([]vgpu.Request{{Type: "A16-2Q", VMUUID: vmUUID}})
	wantErr(t, err, vgpu.ErrInvalidArgument)
}

func TestExplain(t *testing.T) {
	m := open(t, vgpu.Options{})
	verdicts := must(m.Explain(vgpu.Request{Type: "A16-2Q"}))
	eligible, chosen, reasons := 0, 0, 0
	for _, v := range verdicts {
		if v.Eligible {
			eligible++
		} else if v.Reason != "" {
			reasons++
		}
		if v.Chosen {
			chosen++
		}
	}
	if len(verdicts) != 7 || eligible != 4 || chosen != 1 || reasons != 3 {
		t.Errorf("Explain() = %+v", verdicts)
	}
	_, err := m.Explain(vgpu.Request{Type: "A16-5Q"})
	wantErr(t, err, vgpu.ErrNotFound)
}

func TestReconcileBetweenTwoManagers(t *testing.T) {
	host := hostFile(t)
	a := open(t, vgpu.Options{SimHost: host})
	b := open(t, vgpu.Options{SimHost: host})
	if info := must(a.Describe()); info.Ledger != host+".ledger" {
		t.Errorf("ledger = %s", info.Ledger)
	}
	v := must(a.Create(vgpu.Request{Type: "A16-2Q"}))[0]
	if count(t, b) != 1 {
		t.Errorf("b does not see a's vGPU")
	}
	c := open(t, vgpu.Options{SimHost: host, Ledger: filepath.Join(filepath.Dir(host), "other.ledger"),
		SkipReconcileOnOpen: true})
	if count(t, c) != 0 {
		t.Errorf("c sees vGPUs before reconciling")
	}
	r := must(c.Reconcile())
	if len(r.Repairs) != 1 || r.InProgress != 0 || r.Repairs[0].Kind != vgpu.RepairAdopted ||
		r.Repairs[0].UUID != v.UUID || r.Repairs[0].Text == "" {
		t.Fatalf("Reconcile() = %+v", r)
	}
	if again := must(c.Reconcile()); len(again.Repairs) != 0 {
		t.Errorf("second Reconcile() = %+v", again)
	}
	if err := a.Destroy(v.UUID); err != nil {
		t.Fatal(err)
	}
	if r := must(c.Reconcile()); len(r.Repairs) != 1 || r.Repairs[0].Kind != vgpu.RepairReleasedVanished {
		t.Errorf("Reconcile() after destroy = %+v", r)
	}
}

func TestApplyAndRestore(t *testing.T) {
	m := open(t, vgpu.Options{SimHost: hostFile(t)})
	state := []byte(`{"vgpus": [{"type": "A16-2Q", "count": 3}]}`)
	if s := must(m.Apply(state, vgpu.ApplyOptions{DryRun: true})); s.Created != 3 || count(t, m) != 0 {
		t.Errorf("dry run: %+v", s)
	}
	if s := must(m.Apply(state, vgpu.ApplyOptions{})); s.Created != 3 || s.Kept != 0 {
		t.Errorf("apply: %+v", s)
	}
	if s := must(m.Apply(state, vgpu.ApplyOptions{})); s.Created != 0 || s.Kept != 3 {
		t.Errorf("apply again: %+v", s)
	}
	_, err := m.Apply([]byte(`{"vgpu": []}`), vgpu.ApplyOptions{})
	wantErr(t, err, vgpu.ErrInvalidArgument)
	for _, v := range must(m.Instances()) {
		if err := m.Destroy(v.UUID); err != nil {
			t.Fatal(err)
		}
	}
	if s := must(m.Restore()); s.Created != 3 || count(t, m) != 3 {
		t.Errorf("restore: %+v", s)
	}
	if s := must(m.Apply([]byte(`{"vgpus": []}`), vgpu.ApplyOptions{Prune: true})); s.Destroyed != 3 {
		t.Errorf("prune: %+v", s)
	}
}

func TestLogCallback(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	logf := func(level vgpu.LogLevel, msg string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, level.String()+": "+msg)
	}
	m := open(t, vgpu.Options{Log: logf, LogLevel: vgpu.LogInfo})
	v := must(m.Create(vgpu.Request{Type: "A16-2Q"}))[0]
	mu.Lock()
	if len(seen) != 1 || !strings.HasPrefix(seen[0], "info: created") || !strings.Contains(seen[0], v.UUID) {
		t.Errorf("log = %q", seen)
	}
	seen = nil
	mu.Unlock()
	if err := m.SetLog(logf, vgpu.LogWarning); err != nil {
		t.Fatal(err)
	}
	must(m.Create(vgpu.Request{Type: "A16-2Q"}))
	if err := m.SetLog(nil, 0); err != nil {
		t.Fatal(err)
	}
	must(m.Create(vgpu.Request{Type: "A16-2Q"}))
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 0 {
		t.Errorf("log below the level or after SetLog(nil): %q", seen)
	}
}

func TestPolicyCallback(t *testing.T) {
	calls := 0
	preferL40S := func(c vgpu.Candidate) float64 {
		calls++
		score := float64(c.UsedFramebufferBytes)
		if !strings.Contains(c.Model, "L40S") {
			score += 1e12
		}
		return score
	}
	m := open(t, vgpu.Options{Policy: "l40s-first", PolicyFunc: preferL40S})
	if info := must(m.Describe()); info.Policy != "l40s-first" {
		t.Errorf("policy = %s", info.Policy)
	}
	v := must(m.Create(vgpu.Request{MinFramebufferBytes: 4 * gib, Series: 'Q'}))[0]
	if !strings.HasPrefix(v.Type, "L40S") || calls == 0 {
		t.Errorf("custom policy: %s after %d calls", v.Type, calls)
	}
	nan := open(t, vgpu.Options{PolicyFunc: func(vgpu.Candidate) float64 { return math.NaN() }})
	must(nan.Create(vgpu.Request{Type: "A16-2Q"}))
}

// A panic in a callback does not unwind through C: the method that made the call re-panics.
func TestPanickingCallback(t *testing.T) {
	m := open(t, vgpu.Options{PolicyFunc: func(vgpu.Candidate) float64 { panic("policy bug") }})
	defer func() {
		if p := recover(); p != "policy bug" {
			t.Errorf("recovered %v", p)
		}
		if count(t, m) != 1 { // the create itself succeeded: every GPU scored +Inf
			t.Errorf("%d instances", count(t, m))
		}
	}()
	_, _ = m.Create(vgpu.Request{Type: "A16-2Q"})
	t.Errorf("Create did not panic")
}

func TestUseAfterClose(t *testing.T) {
	m, err := vgpu.Open(vgpu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, m.Close(), vgpu.ErrBadHandle)
	_, err = m.GPUs()
	wantErr(t, err, vgpu.ErrBadHandle)
	_, err = m.Create(vgpu.Request{Type: "A16-2Q"})
	wantErr(t, err, vgpu.ErrBadHandle)
	wantErr(t, m.Destroy(uuid1), vgpu.ErrBadHandle)
	_, err = m.Plan(nil)
	wantErr(t, err, vgpu.ErrBadHandle)
	_, err = m.Reconcile()
	wantErr(t, err, vgpu.ErrBadHandle)
	wantErr(t, m.SetLog(nil, 0), vgpu.ErrBadHandle)
}

// Goroutines share one manager; others open their own on a shared simulated host file.
func TestConcurrency(t *testing.T) {
	m := open(t, vgpu.Options{})
	host := hostFile(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	churn := func(m *vgpu.Manager, typ string) {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			made, err := m.Create(vgpu.Request{Type: typ})
			if err == nil {
				_, err = m.Instance(made[0].UUID)
			}
			if err == nil {
				err = m.Destroy(made[0].UUID)
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go churn(m, "A16-1Q")
	}
	for i := 0; i < 2; i++ {
		shared, err := vgpu.Open(vgpu.Options{SimHost: host})
		if err != nil {
			t.Fatal(err)
		}
		defer shared.Close()
		wg.Add(1)
		go churn(shared, "A16-2Q")
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if count(t, m) != 0 {
		t.Errorf("vGPUs left")
	}
}

// A forgotten manager is closed by its finalizer (nothing to observe but no crash or leak
// of the callback handle).
func TestFinalizer(t *testing.T) {
	for i := 0; i < 10; i++ {
		_, err := vgpu.Open(vgpu.Options{Log: func(vgpu.LogLevel, string) {}})
		if err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC()
}

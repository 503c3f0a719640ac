// vgpu_ledger_worker: one process of the multi-process ledger tests, driven by argv.
//
//   commit LEDGER COMMITS PER     commit c (1..COMMITS) puts PER records numbered (c, i) and
//                                 erases those of commit c-2; prints "ack c" after each
//   open LEDGER                   waits for stdin to close (a barrier), opens the ledger and
//                                 prints "corrupt" or "ok"
//   race HOST LEDGER TYPE         opens a Manager, prints "ready", waits for stdin to close,
//                                 creates one TYPE and prints "ok UUID" or "err CODE MESSAGE"
//   hold-create HOST LEDGER TYPE  creates one TYPE through a backend that, once the ledger
//                                 holds the reservation, prints "reserved UUID" and waits for
//                                 stdin to close; then prints "created UUID" or "err ..."
//   churn HOST LEDGER SEED OPS    OPS (0: endless) random creates and destroys through a
//                                 Manager. Prints "ready" once open, "C UUID" after each
//                                 acknowledged create, "D UUID" before each destroy, "X UUID"
//                                 after each acknowledged destroy, "E MESSAGE" on an
//                                 unexpected error (and exits 3).
//
// Every line is one write(2) of at most PIPE_BUF bytes, so a SIGKILL never tears one.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ledger_test_util.hpp"

using namespace vgpu;

namespace {

void say(const std::string& line) {
  std::string l = line.substr(0, 1000);
  for (auto& c : l)
    if (c == '\n') c = '|';  // one report per line
  l += "\n";
  const char* p = l.data();
  std::size_t left = l.size();
  while (left > 0) {
    const ssize_t n = ::write(1, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::_Exit(4);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

// Blocks until stdin reaches end of file (the parent closed its end).
void wait_for_stdin_eof() {
  char c;
  while (true) {
    const ssize_t n = ::read(0, &c, 1);
    if (n == 0) return;
    if (n < 0 && errno != EINTR) return;
  }
}

[[noreturn]] void die(const std::string& what) {
  say("E " + what);
  std::_Exit(3);
}

std::unique_ptr<Manager> open_manager(const std::string& host, const std::string& ledger) {
  auto m = Manager::open(test::options_for(host, ledger));
  if (!m) die("open: " + m.error().message());
  return std::move(*m);
}

int commit_mode(const std::string& ledger, long commits, long per) {
  LedgerOptions o;
  o.path = ledger;
  auto l = HostLedger::open(o);
  if (!l) die("open: " + l.error().message());
  for (long c = 1; c <= commits; ++c) {
    auto ok = l->transact([&](LedgerTransaction& t) -> Result<void> {
      for (long i = 0; i < per; ++i) {
        VgpuRecord r =
            test::numbered_record(static_cast<std::uint32_t>(c), static_cast<std::uint32_t>(i));
        if (auto put = t.put(r); !put) return put;
      }
      if (c >= 3)
        for (long i = 0; i < per; ++i)
          if (auto e = t.erase(test::numbered_uuid(static_cast<std::uint32_t>(c - 2),
                                                   static_cast<std::uint32_t>(i)));
              !e)
            return e;
      return {};
    });
    if (!ok) die("commit " + std::to_string(c) + ": " + ok.error().message());
    say("ack " + std::to_string(c));
  }
  return 0;
}

int open_mode(const std::string& ledger) {
  wait_for_stdin_eof();
  LedgerOptions o;
  o.path = ledger;
  auto l = HostLedger::open(o);
  if (!l) die("open: " + l.error().message());
  say(l->open_report().corruption.empty() ? "ok" : "corrupt");
  return 0;
}

int race_mode(const std::string& host, const std::string& ledger, const std::string& type) {
  auto m = open_manager(host, ledger);
  auto t = m->catalog().find_type(type);
  if (!t) die(t.error().message());
  say("ready");
  wait_for_stdin_eof();
  auto made = m->create(Request::of(*t, 1));
  if (made)
    say("ok " + made->front().uuid.to_string());
  else
    say("err " + std::string(to_string(made.error().code())) + " " + made.error().message());
  return 0;
}

// A backend that announces the reservation and waits before creating.
class HoldingBackend final : public sys::Backend {
 public:
  explicit HoldingBackend(std::unique_ptr<sys::Backend> inner) : inner_(std::move(inner)) {}
  std::string_view name() const override { return "sim"; }
  Result<std::vector<PhysicalGpu>> gpus() override { return inner_->gpus(); }
  Result<std::vector<VgpuInstance>> instances() override { return inner_->instances(); }
  Result<VgpuInstance> create(const sys::CreateRequest& request) override {
    say("reserved " + request.uuid.to_string());
    wait_for_stdin_eof();
    return inner_->create(request);
  }
  Result<void> destroy(const Uuid& uuid) override { return inner_->destroy(uuid); }

 private:
  std::unique_ptr<sys::Backend> inner_;
};

int hold_create_mode(const std::string& host, const std::string& ledger, const std::string& type) {
  auto o = test::options_for(host, ledger);
  o.backend_instance = std::make_unique<HoldingBackend>(test::open_host(host));
  auto m = Manager::open(std::move(o));
  if (!m) die("open: " + m.error().message());
  auto t = (*m)->catalog().find_type(type);
  if (!t) die(t.error().message());
  auto made = (*m)->create(Request::of(*t, 1));
  if (made)
    say("created " + made->front().uuid.to_string());
  else
    say("err " + std::string(to_string(made.error().code())) + " " + made.error().message());
  return 0;
}

int churn_mode(const std::string& host, const std::string& ledger, unsigned seed, long ops) {
  auto m = open_manager(host, ledger);
  say("ready");
  std::mt19937 rng(seed);
  static const char* const types[] = {"A16-2Q",  "A16-4Q",  "A16-8Q",   "A16-16Q",
                                      "L40S-4Q", "L40S-8Q", "L40S-12Q", "L40S-24Q"};
  for (long op = 0; ops == 0 || op < ops; ++op) {
    const bool create = std::uniform_int_distribution<int>(0, 99)(rng) < 55;
    if (create) {
      auto t = m->catalog().find_type(types[rng() % std::size(types)]);
      if (!t) die(t.error().message());
      Request rq = Request::of(*t, 1);
      rq.owner = "churn";
      auto made = m->create(rq);
      if (made) {
        say("C " + made->front().uuid.to_string());
      } else if (made.error().code() != Errc::no_capacity) {
        die("create: " + std::string(to_string(made.error().code())) + " " +
            made.error().message());
      }
      continue;
    }
    auto all = m->instances();
    if (!all) die("instances: " + all.error().message());
    std::vector<Uuid> active;
    for (const auto& r : *all)
      if (r.state == VgpuState::active) active.push_back(r.uuid);
    if (active.empty()) continue;
    const Uuid u = active[rng() % active.size()];
    say("D " + u.to_string());
    auto gone = m->destroy(u);
    if (gone) {
      say("X " + u.to_string());
    } else if (gone.error().code() != Errc::not_found && gone.error().code() != Errc::busy) {
      die("destroy: " + std::string(to_string(gone.error().code())) + " " + gone.error().message());
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  auto need = [&](std::size_t n) {
    if (a.size() != n) {
      std::fprintf(stderr, "vgpu_ledger_worker: wrong arguments (see the file comment)\n");
      std::exit(2);
    }
  };
  if (a.empty()) need(1);
  const std::string& mode = a[0];
  if (mode == "commit") {
    need(4);
    return commit_mode(a[1], std::stol(a[2]), std::stol(a[3]));
  }
  if (mode == "open") {
    need(2);
    return open_mode(a[1]);
  }
  if (mode == "race") {
    need(4);
    return race_mode(a[1], a[2], a[3]);
  }
  if (mode == "hold-create") {
    need(4);
    return hold_create_mode(a[1], a[2], a[3]);
  }
  if (mode == "churn") {
    need(5);
    return churn_mode(a[1], a[2], static_cast<unsigned>(std::stoul(a[3])), std::stol(a[4]));
  }
  need(0);
  return 2;
}

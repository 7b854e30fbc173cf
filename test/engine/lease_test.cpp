#include "engine/lease.h"

#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <thread>

#include "core/failure.h"
#include "engine/interrupt.h"
#include "support/apply_harness.h"
#include "support/pg_server.h"

namespace dbmig::engine {
namespace {

using namespace std::chrono_literals;
using test::query_value;

class LeaseTest : public test::DatabaseTest {
 protected:
  void SetUp() override {
    test::DatabaseTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    first_ = test::connect_to(conninfo());
    second_ = test::connect_to(conninfo());
    tables_.ensure(*first_);
  }
  static LeaseSettings settings(const std::string& owner, std::chrono::milliseconds ttl,
                                std::chrono::milliseconds wait) {
    return LeaseSettings{owner, ttl, wait};
  }
  db::ConnectOptions connect_options() const {
    db::ConnectOptions options;
    options.conninfo = conninfo();
    return options;
  }

  StateTables tables_;
  std::unique_ptr<db::Connection> first_;
  std::unique_ptr<db::Connection> second_;
};

TEST(RunnerIdentity, IsHostPidAndRandomSuffix) {
  const std::string identity = make_runner_identity();
  EXPECT_TRUE(std::regex_match(identity, std::regex(R"(.+:[0-9]+:[0-9a-f]{8})"))) << identity;
  EXPECT_NE(identity, make_runner_identity());
}

TEST_F(LeaseTest, SecondRunnerTimesOutWithExit4NamingTheHolder) {
  Lease held(*first_, tables_, settings("a:1:00000001", 10s, 1s), nullptr);
  bool notified = false;
  try {
    Lease second(*second_, tables_, settings("b:2:00000002", 10s, 300ms),
                 [&](const LeaseInfo& holder) {
                   notified = true;
                   EXPECT_EQ(holder.owner, "a:1:00000001");
                 });
    ADD_FAILURE() << "the second lease was granted while the first is held";
  } catch (const Failure& failure) {
    EXPECT_EQ(failure.code(), ExitCode::lease_timeout);
    EXPECT_NE(std::string(failure.what()).find("held by a:1:00000001"), std::string::npos)
        << failure.what();
  }
  EXPECT_TRUE(notified);
}

TEST_F(LeaseTest, LockTimeoutZeroDoesNotWait) {
  Lease held(*first_, tables_, settings("a:1:00000001", 10s, 1s), nullptr);
  bool notified = false;
  const auto start = std::chrono::steady_clock::now();
  try {
    Lease second(*second_, tables_, settings("b:2:00000002", 10s, 0ms),
                 [&](const LeaseInfo&) { notified = true; });
    ADD_FAILURE() << "the second lease was granted while the first is held";
  } catch (const Failure& failure) {
    EXPECT_EQ(failure.code(), ExitCode::lease_timeout);
    EXPECT_NE(std::string(failure.what()).find("not waiting"), std::string::npos) << failure.what();
  }
  // The wait notice comes right before the first backoff sleep: no notice, no sleep.
  EXPECT_FALSE(notified) << "a runner that does not wait must not announce waiting";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(LeaseTest, AnInterruptStopsTheWaitAtOnce) {
  Lease held(*first_, tables_, settings("a:1:00000001", 10s, 1s), nullptr);
  request_interrupt();
  const auto start = std::chrono::steady_clock::now();
  try {
    Lease waiting(*second_, tables_, settings("b:2:00000002", 10s, 30s), nullptr);
    ADD_FAILURE() << "the lease was granted while held";
  } catch (const Failure& failure) {
    EXPECT_EQ(failure.code(), ExitCode::runtime_failure);
    EXPECT_NE(std::string(failure.what()).find("interrupted"), std::string::npos) << failure.what();
  }
  clear_interrupt();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(LeaseTest, ExpiredLeaseIsTakenOverWithTheNextToken) {
  Lease expired(*first_, tables_, settings("a:1:00000001", 200ms, 1s), nullptr);
  std::this_thread::sleep_for(400ms);
  Lease taken(*second_, tables_, settings("b:2:00000002", 10s, 1s), nullptr);
  EXPECT_EQ(taken.token(), expired.token() + 1);
  EXPECT_EQ(query_value(*first_, "SELECT lease_owner FROM dbmig.state"), "b:2:00000002");
}

TEST_F(LeaseTest, FencedWriteOfARunnerThatLostTheLeaseIsRolledBack) {
  first_->exec("CREATE TABLE marks (v TEXT)");
  Lease stale(*first_, tables_, settings("a:1:00000001", 200ms, 1s), nullptr);
  fenced_write(*first_, stale, {"INSERT INTO marks VALUES ('while held')"});
  std::this_thread::sleep_for(400ms);
  Lease fresh(*second_, tables_, settings("b:2:00000002", 10s, 1s), nullptr);
  try {
    fenced_write(*first_, stale, {"INSERT INTO marks VALUES ('after loss')"});
    ADD_FAILURE() << "a stale runner wrote";
  } catch (const Failure& failure) {
    EXPECT_EQ(failure.code(), ExitCode::runtime_failure);
    EXPECT_NE(std::string(failure.what()).find("lease lost"), std::string::npos);
  }
  EXPECT_TRUE(stale.lost());
  EXPECT_EQ(query_value(*second_, "SELECT string_agg(v, ',') FROM marks"), "while held");
  fenced_write(*second_, fresh, {"INSERT INTO marks VALUES ('new holder')"});
  EXPECT_EQ(query_value(*second_, "SELECT count(*) FROM marks"), "2");
}

TEST_F(LeaseTest, HeartbeatKeepsTheLeaseBeyondItsTtl) {
  Lease held(*first_, tables_, settings("a:1:00000001", 300ms, 1s), nullptr);
  held.start_heartbeat(connect_options(), nullptr);
  std::this_thread::sleep_for(1s);
  EXPECT_THROW(Lease(*second_, tables_, settings("b:2:00000002", 10s, 100ms), nullptr), Failure);
  EXPECT_FALSE(held.lost());
}

TEST_F(LeaseTest, HeartbeatNoticesATakeoverAndCallsBack) {
  Lease held(*first_, tables_, settings("a:1:00000001", 300ms, 1s), nullptr);
  std::atomic<bool> called{false};
  held.start_heartbeat(connect_options(), [&] { called = true; });
  first_->exec("UPDATE dbmig.state SET lease_token = lease_token + 1");
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (!called && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(called.load());
  EXPECT_TRUE(held.lost());
  EXPECT_THROW(held.throw_if_lost(), Failure);
}

TEST_F(LeaseTest, ReleaseFreesTheLeaseAtOnce) {
  {
    Lease held(*first_, tables_, settings("a:1:00000001", 10s, 1s), nullptr);
    held.release(*first_);
  }
  EXPECT_EQ(query_value(*first_,
                        "SELECT lease_owner IS NULL AND lease_expires_at IS NULL"
                        " FROM dbmig.state"),
            "t");
  Lease next(*second_, tables_, settings("b:2:00000002", 10s, 0ms), nullptr);
  EXPECT_EQ(next.token(), 2);
}

}  // namespace
}  // namespace dbmig::engine

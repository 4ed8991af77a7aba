// The dead tasks' admin JSON (http/admin_tasks_api.h) against a local task queue: what
// /api/dead-tasks lists, what /api/retry-tasks puts back, and every refusal with its reason.
#include "http/admin_tasks_api.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tasks/local/local_task_queue.h"
#include "temp_dir.h"

namespace oceanus::http {
namespace {

using std::chrono::milliseconds;

class AdminTasksApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tasks::LocalTaskQueueConfig config;
    config.path = (dir_.path() / "tasks.db").string();
    auto q = tasks::LocalTaskQueue::Open(config);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    queue_ = std::move(q).value();
    for (const char* name : {"hook", "slack"}) {
      actions::ActionConfig a;
      a.name = name;
      a.type = "webhook";
      actions_.push_back(a);
    }
    // Three dead tasks: two of hook, one of slack.
    for (const char* id : {"r/E1/0", "r/E2/0", "s/E3/0"}) {
      tasks::Task t;
      t.id = id;
      t.action = id[0] == 's' ? "slack" : "hook";
      t.args = R"({"text":"hi \"there\""})";
      t.event = R"({"eid":"E"})";
      t.site = "page";
      ASSERT_TRUE(queue_->Enqueue(t).ok());
    }
    auto taken = queue_->Take(10, milliseconds(0));
    ASSERT_TRUE(taken.ok());
    ASSERT_EQ(taken->size(), 3u);
    for (auto t : *taken) {
      t.attempts = 4;
      t.last_error = "HTTP 500 \"busy\"";
      ASSERT_TRUE(queue_->Bury(t).ok());
    }
  }

  static rapidjson::Document Json(const AdminResponse& r) {
    rapidjson::Document doc;
    doc.Parse(r.body.c_str());
    EXPECT_FALSE(doc.HasParseError()) << r.body;
    return doc;
  }

  AdminResponse Retry(std::string_view body) { return RetryTasksAnswer(*queue_, actions_, body); }

  testing::ScopedTempDir dir_{"admin-tasks"};
  std::unique_ptr<tasks::LocalTaskQueue> queue_;
  std::vector<actions::ActionConfig> actions_;
};

TEST_F(AdminTasksApiTest, DeadTasksListsThemWithTheirFieldsAndFilters) {
  auto r = DeadTasksAnswer(*queue_, "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  auto doc = Json(r);
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(doc["count"].GetInt(), 3);
  EXPECT_EQ(doc["dead"].GetInt(), 3);
  const auto& first = doc["tasks"][0];
  EXPECT_EQ(first["attempts"].GetInt(), 4);
  EXPECT_STREQ(first["last_error"].GetString(), "HTTP 500 \"busy\"");
  EXPECT_STREQ(first["site"].GetString(), "page");
  EXPECT_STREQ(first["args"]["text"].GetString(), "hi \"there\"");  // an object, not a string
  EXPECT_STREQ(first["event"]["eid"].GetString(), "E");
  EXPECT_TRUE(first["not_before"].IsInt64());

  doc = Json(DeadTasksAnswer(*queue_, "action=slack"));
  ASSERT_EQ(doc["count"].GetInt(), 1);
  EXPECT_STREQ(doc["tasks"][0]["id"].GetString(), "s/E3/0");
  doc = Json(DeadTasksAnswer(*queue_, "id=r%2FE2%2F0"));
  ASSERT_EQ(doc["count"].GetInt(), 1);
  EXPECT_STREQ(doc["tasks"][0]["id"].GetString(), "r/E2/0");
  doc = Json(DeadTasksAnswer(*queue_, "limit=2"));
  EXPECT_EQ(doc["count"].GetInt(), 2);
  EXPECT_EQ(doc["dead"].GetInt(), 3);
}

TEST_F(AdminTasksApiTest, DeadTasksRefusesAMalformedQueryOrLimit) {
  for (const char* query : {"limit=abc", "limit=0", "limit=5x", "limit=-1", "action=%zz"}) {
    auto r = DeadTasksAnswer(*queue_, query);
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_TRUE(Json(r).HasMember("error")) << query;
  }
}

TEST_F(AdminTasksApiTest, RetryByIdPutsBackThatOneAndOnlyOnce) {
  auto r = Retry(R"({"id":"r/E2/0"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"revived\":1}\n");
  EXPECT_EQ(queue_->Counts()->dead, 2u);
  EXPECT_EQ(queue_->Counts()->queued, 1u);
  auto taken = queue_->Take(10, milliseconds(0));
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].id, "r/E2/0");
  EXPECT_EQ(Retry(R"({"id":"r/E2/0"})").body, "{\"revived\":0}\n");
}

TEST_F(AdminTasksApiTest, RetryByActionAndDryRun) {
  auto r = Retry(R"({"action":"hook","dry_run":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"dry_run\":true,\"would_revive\":2}\n");
  EXPECT_EQ(queue_->Counts()->dead, 3u);  // a dry run changes nothing
  EXPECT_EQ(Retry(R"({"action":"hook"})").body, "{\"revived\":2}\n");
  auto dead = queue_->DeadTasks(10, {});
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].action, "slack");
  EXPECT_EQ(Retry("{}").body, "{\"revived\":1}\n");  // {} is every dead task
  EXPECT_EQ(queue_->Counts()->dead, 0u);
}

TEST_F(AdminTasksApiTest, RetryRefusesABadBodyWithTheReasonAndChangesNothing) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not a JSON object"},
      {"{\"id\":", "not a JSON object"},
      {"[]", "not a JSON object"},
      {R"({"id":"r/E1/0","all":true})", "unknown member 'all'"},
      {R"({"id":5})", "id is a non-empty string"},
      {R"({"action":""})", "action is a non-empty string"},
      {R"({"dry_run":"yes"})", "dry_run is true or false"},
      {R"({"action":"mail"})", "no action 'mail' in the config"},
  };
  for (const auto& [body, reason] : cases) {
    auto r = Retry(body);
    EXPECT_EQ(r.status, 400) << body;
    auto doc = Json(r);
    ASSERT_TRUE(doc.IsObject() && doc.HasMember("error")) << r.body;
    EXPECT_NE(std::string(doc["error"].GetString()).find(reason), std::string::npos)
        << body << " → " << r.body;
  }
  EXPECT_EQ(queue_->Counts()->dead, 3u);
  EXPECT_EQ(queue_->Counts()->queued, 0u);
}

TEST(AdminTasksApiRefusalTest, RetryTakesAPostWithTheTokenAndJson) {
  config::AdminConfig admin;
  AdminRequest request;
  request.method = "POST";
  request.content_type = "application/json";
  EXPECT_EQ(RefuseRetryTasks(admin, request)->status, 403);  // no token configured
  admin.token = "t0ken";
  EXPECT_EQ(RefuseRetryTasks(admin, request)->status, 401);
  request.authenticated = true;
  EXPECT_FALSE(RefuseRetryTasks(admin, request).has_value());
  request.content_type = "text/plain";
  EXPECT_EQ(RefuseRetryTasks(admin, request)->status, 415);
  request.content_type = "application/json";
  request.method = "GET";
  EXPECT_EQ(RefuseRetryTasks(admin, request)->status, 405);
}

}  // namespace
}  // namespace oceanus::http

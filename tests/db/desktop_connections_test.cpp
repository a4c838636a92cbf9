// DesktopConnections on both backends.
#include <thread>

#include "db_test_support.h"
#include "support/json_test_util.h"

namespace hearth::db {
namespace {

namespace json = boost::json;
using hearth::test::json_from;

class DesktopConnectionsTest : public test::BackendTest {};
HEARTH_DB_BACKENDS(DesktopConnectionsTest);

const char* kHardware = R"({"cpu": {"cores": 16, "avx512": true}, "ram_gb": 64, "gpus": []})";

TEST_P(DesktopConnectionsTest, UpsertRegistersThenRefreshesTheSameRow) {
  std::int64_t user = make_user();
  Database db = open();
  DesktopConnections desktops(db);
  DesktopConnection c = desktops.upsert({.user_id = user,
                                         .connection_id = "desk-1",
                                         .app_version = "0.1.0",
                                         .os_info = "Debian 12",
                                         .hardware_info = kHardware,
                                         .local_models = R"(["qwen2:0.5b"])"});
  EXPECT_GT(c.id, 0);
  EXPECT_EQ(c.user_id, user);
  EXPECT_EQ(c.status, ConnectionStatus::connected);
  EXPECT_EQ(c.app_version, "0.1.0");
  EXPECT_EQ(c.os_info, "Debian 12");
  EXPECT_EQ(json_from(c.hardware_info), json_from(kHardware));
  EXPECT_EQ(json_from(c.local_models), json_from(R"(["qwen2:0.5b"])"));
  EXPECT_EQ(c.connected_at, c.last_seen);

  desktops.mark_disconnected("desk-1");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  DesktopConnection again =
      desktops.upsert({.user_id = user, .connection_id = "desk-1", .app_version = "0.2.0"});
  EXPECT_EQ(again.id, c.id);
  EXPECT_EQ(again.app_version, "0.2.0");
  EXPECT_EQ(again.status, ConnectionStatus::connected);
  EXPECT_GT(again.connected_at, c.connected_at);
  EXPECT_EQ(json_from(again.hardware_info), json::value(json::object{}));
  EXPECT_EQ(json_from(again.local_models), json::value(json::array{}));
  EXPECT_EQ(desktops.list(user).size(), 1u);
}

TEST_P(DesktopConnectionsTest, AConnectionIdCannotMoveToAnotherUser) {
  std::int64_t ada = make_user("ada");
  std::int64_t bob = make_user("bob");
  Database db = open();
  DesktopConnections desktops(db);
  desktops.upsert({.user_id = ada, .connection_id = "desk-1", .app_version = "1"});
  EXPECT_DB_ERROR(desktops.upsert({.user_id = bob, .connection_id = "desk-1"}),
                  ErrorKind::conflict);
  EXPECT_EQ(desktops.find("desk-1")->user_id, ada);
  EXPECT_EQ(desktops.find("desk-1")->app_version, "1");
  EXPECT_DB_ERROR(desktops.upsert({.user_id = ada, .connection_id = ""}), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(desktops.upsert({.user_id = ada + bob + 100, .connection_id = "desk-2"}),
                  ErrorKind::not_found);
}

TEST_P(DesktopConnectionsTest, TouchAndDisconnect) {
  std::int64_t user = make_user();
  Database db = open();
  DesktopConnections desktops(db);
  auto c = desktops.upsert({.user_id = user, .connection_id = "desk-1"});
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  desktops.touch("desk-1");
  auto touched = *desktops.find("desk-1");
  EXPECT_GT(touched.last_seen, c.last_seen);
  EXPECT_EQ(touched.connected_at, c.connected_at);
  EXPECT_EQ(json_from(touched.local_models), json::value(json::array{}));

  desktops.touch("desk-1", R"(["a", {"name": "b", "size": 3}])");
  EXPECT_EQ(json_from(desktops.find("desk-1")->local_models),
            json_from(R"(["a", {"size": 3, "name": "b"}])"));
  EXPECT_DB_ERROR(desktops.touch("desk-1", "[unterminated"), ErrorKind::invalid_input);

  desktops.mark_disconnected("desk-1");
  EXPECT_EQ(desktops.find("desk-1")->status, ConnectionStatus::disconnected);
  desktops.touch("desk-1");
  EXPECT_EQ(desktops.find("desk-1")->status, ConnectionStatus::connected);

  EXPECT_DB_ERROR(desktops.touch("nope"), ErrorKind::not_found);
  EXPECT_DB_ERROR(desktops.mark_disconnected("nope"), ErrorKind::not_found);
  EXPECT_FALSE(desktops.find("nope").has_value());
}

TEST_P(DesktopConnectionsTest, AgentsRegisterKeepTheirSecretAndGoWhenRemoved) {
  std::int64_t ada = make_user("ada");
  std::int64_t bob = make_user("bob");
  Database db = open();
  DesktopConnections desktops(db);
  auto a = desktops.register_agent(ada, "agt_1", "laptop", "hash-1");
  EXPECT_EQ(a.status, ConnectionStatus::disconnected);
  EXPECT_EQ(a.name, "laptop");
  EXPECT_EQ(a.secret_hash, "hash-1");
  EXPECT_DB_ERROR(desktops.register_agent(bob, "agt_1", "x", "hash-2"), ErrorKind::conflict);
  EXPECT_DB_ERROR(desktops.register_agent(ada, "agt_2", "x", ""), ErrorKind::invalid_input);
  // Connecting (hello) refreshes the row but keeps the name and the secret.
  desktops.upsert({.user_id = ada, .connection_id = "agt_1", .app_version = "0.2"});
  auto connected = *desktops.find("agt_1");
  EXPECT_EQ(connected.status, ConnectionStatus::connected);
  EXPECT_EQ(connected.name, "laptop");
  EXPECT_EQ(connected.secret_hash, "hash-1");
  EXPECT_EQ(connected.app_version, "0.2");
  EXPECT_FALSE(desktops.remove(bob, "agt_1"));  // not bob's
  EXPECT_TRUE(desktops.find("agt_1").has_value());
  EXPECT_TRUE(desktops.remove(ada, "agt_1"));
  EXPECT_FALSE(desktops.find("agt_1").has_value());
  EXPECT_FALSE(desktops.remove(ada, "agt_1"));
}

TEST_P(DesktopConnectionsTest, ListIsMostRecentlySeenFirstPerUser) {
  std::int64_t ada = make_user("ada");
  std::int64_t bob = make_user("bob");
  Database db = open();
  DesktopConnections desktops(db);
  desktops.upsert({.user_id = ada, .connection_id = "old"});
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  desktops.upsert({.user_id = ada, .connection_id = "new"});
  desktops.upsert({.user_id = bob, .connection_id = "bobs"});
  auto list = desktops.list(ada);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].connection_id, "new");
  EXPECT_EQ(list[1].connection_id, "old");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  desktops.touch("old");
  EXPECT_EQ(desktops.list(ada)[0].connection_id, "old");
}

TEST_P(DesktopConnectionsTest, BadJsonIsRefused) {
  std::int64_t user = make_user();
  Database db = open();
  DesktopConnections desktops(db);
  EXPECT_DB_ERROR(desktops.upsert({.user_id = user, .connection_id = "d", .hardware_info = "{"}),
                  ErrorKind::invalid_input);
  EXPECT_FALSE(desktops.find("d").has_value());
}

TEST(ConnectionStatus, TextRoundTripsAndUnknownTextIsCorrupt) {
  EXPECT_EQ(connection_status_from("connected"), ConnectionStatus::connected);
  EXPECT_EQ(connection_status_from("disconnected"), ConnectionStatus::disconnected);
  EXPECT_DB_ERROR(connection_status_from("online"), ErrorKind::corrupt_file);
}

}  // namespace
}  // namespace hearth::db

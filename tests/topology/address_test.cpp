#include <catch2/catch.hpp>

#include "topology/address.hpp"

using hivesim::Ipv4;
using hivesim::Ipv4Prefix;
using hivesim::Mac;

TEST_CASE("Mac: parses colon, dash and upper case forms") {
  REQUIRE(Mac::parse("02:00:00:00:01:0a"));
  CHECK(Mac::parse("02:00:00:00:01:0a")->bits == 0x02000000010aULL);
  CHECK(Mac::parse("AA-BB-CC-DD-EE-FF")->bits == 0xaabbccddeeffULL);
  CHECK(Mac::parse("aa:bb:cc:dd:ee:ff")->str() == "aa:bb:cc:dd:ee:ff");
}

TEST_CASE("Mac: rejects wrong lengths, separators and digits") {
  CHECK_FALSE(Mac::parse(""));
  CHECK_FALSE(Mac::parse("02:00:00:00:01"));
  CHECK_FALSE(Mac::parse("02:00:00:00:01:0a:00"));
  CHECK_FALSE(Mac::parse("02:00:00:00:01:0g"));
  CHECK_FALSE(Mac::parse("02.00.00.00.01.0a"));
  CHECK_FALSE(Mac::parse("2:00:00:00:01:0a0"));
}

TEST_CASE("Mac: multicast and broadcast bits") {
  CHECK(Mac::broadcast().is_broadcast());
  CHECK(Mac::broadcast().is_multicast());
  CHECK(Mac::parse("01:00:5e:00:00:01")->is_multicast());
  CHECK_FALSE(Mac::parse("02:00:5e:00:00:01")->is_multicast());
}

TEST_CASE("Ipv4: parses dotted quads and prints them back") {
  CHECK(Ipv4::parse("10.0.1.10")->bits == 0x0a00010aU);
  CHECK(Ipv4::parse("255.255.255.255")->is_broadcast());
  CHECK(Ipv4::parse("0.0.0.0")->bits == 0U);
  CHECK(Ipv4::parse("192.168.0.1")->str() == "192.168.0.1");
  CHECK(Ipv4::parse("224.0.0.1")->is_multicast());
}

TEST_CASE("Ipv4: rejects malformed addresses") {
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "1..3.4", "1.2.3.4.",
                          "a.b.c.d", "+1.2.3.4", "1.2.3.4/24", " 1.2.3.4", "1.2.3.0004"}) {
    INFO(bad);
    CHECK_FALSE(Ipv4::parse(bad));
  }
}

TEST_CASE("Ipv4Prefix: parses CIDRs and bare addresses as /32") {
  auto p = Ipv4Prefix::parse("10.0.1.1/24");
  REQUIRE(p);
  CHECK(p->len == 24);
  CHECK(p->addr.str() == "10.0.1.1");  // host bits kept as written
  CHECK(p->network().str() == "10.0.1.0");
  CHECK(p->broadcast().str() == "10.0.1.255");
  CHECK(p->contains(*Ipv4::parse("10.0.1.200")));
  CHECK_FALSE(p->contains(*Ipv4::parse("10.0.2.1")));
  CHECK(Ipv4Prefix::parse("10.0.0.5")->len == 32);
  CHECK(Ipv4Prefix::parse("10.0.1.0/24")->str() == "10.0.1.0/24");
}

TEST_CASE("Ipv4Prefix: /0 matches everything and bad lengths are rejected") {
  auto any = Ipv4Prefix::parse("0.0.0.0/0");
  REQUIRE(any);
  CHECK(any->mask() == 0U);
  CHECK(any->contains(*Ipv4::parse("203.0.113.9")));
  CHECK_FALSE(Ipv4Prefix::parse("10.0.0.0/33"));
  CHECK_FALSE(Ipv4Prefix::parse("10.0.0.0/"));
  CHECK_FALSE(Ipv4Prefix::parse("10.0.0.0/-1"));
  CHECK_FALSE(Ipv4Prefix::parse("10.0.0/8"));
}

#include "core/metrics/metrics.h"

#include <gtest/gtest.h>

using namespace pinet::core::metrics;

TEST(Metrics, CounterAndGaugeRenderWithHelpAndType) {
    Registry r;
    r.declare("pinetboot_dhcp_packets_total", "DHCP packets", Kind::Counter);
    r.declare("pinetboot_transfers_in_flight", "Transfers now", Kind::Gauge);
    r.add("pinetboot_dhcp_packets_total", {{"type", "discover"}, {"result", "ok"}});
    r.add("pinetboot_dhcp_packets_total", {{"type", "discover"}, {"result", "ok"}}, 2);
    r.set("pinetboot_transfers_in_flight", {{"protocol", "tftp"}}, 3);
    EXPECT_EQ(r.render(),
              "# HELP pinetboot_dhcp_packets_total DHCP packets\n"
              "# TYPE pinetboot_dhcp_packets_total counter\n"
              "pinetboot_dhcp_packets_total{type=\"discover\",result=\"ok\"} 3\n"
              "# HELP pinetboot_transfers_in_flight Transfers now\n"
              "# TYPE pinetboot_transfers_in_flight gauge\n"
              "pinetboot_transfers_in_flight{protocol=\"tftp\"} 3\n");
    EXPECT_EQ(r.value("pinetboot_dhcp_packets_total", {{"type", "discover"}, {"result", "ok"}}), 3);
}

TEST(Metrics, HistogramBucketsAreCumulative) {
    Registry r;
    r.declare("boot_seconds", "Boot time", Kind::Histogram, {1, 5, 10});
    r.observe("boot_seconds", {}, 0.5);
    r.observe("boot_seconds", {}, 4);
    r.observe("boot_seconds", {}, 7);
    r.observe("boot_seconds", {}, 60);
    EXPECT_EQ(r.render(),
              "# HELP boot_seconds Boot time\n# TYPE boot_seconds histogram\n"
              "boot_seconds_bucket{le=\"1\"} 1\n"
              "boot_seconds_bucket{le=\"5\"} 2\n"
              "boot_seconds_bucket{le=\"10\"} 3\n"
              "boot_seconds_bucket{le=\"+Inf\"} 4\n"
              "boot_seconds_sum 71.5\n"
              "boot_seconds_count 4\n");
    EXPECT_EQ(r.count("boot_seconds", {}), 4u);
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
    Registry r;
    r.declare("x_total", "a \\ b\nc", Kind::Counter);
    r.add("x_total", {{"reason", "say \"hi\"\\\n"}});
    EXPECT_EQ(r.render(),
              "# HELP x_total a \\\\ b\\nc\n# TYPE x_total counter\n"
              "x_total{reason=\"say \\\"hi\\\"\\\\\\n\"} 1\n");
}

TEST(Metrics, UndeclaredOrWrongKindIsIgnored) {
    Registry r;
    r.declare("g", "g", Kind::Gauge);
    r.add("nope", {});
    r.observe("g", {}, 1);
    EXPECT_EQ(r.render(), "# HELP g g\n# TYPE g gauge\n");
}

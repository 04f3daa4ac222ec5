/* Prints sizeof/offsetof of every LeaseInfo v1 field (`layout`), or decodes a message read
 * from stdin (`v4` / `v6`) as `name=value` lines. Built and run by tests/rbus_layout.rs. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "lease_info_v1.h"

#define FIELD(T, f) printf("%s %s %zu %zu\n", #T, #f, offsetof(T, f), sizeof(((T *)0)->f))

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "layout") == 0) {
        printf("size DHCP_MGR_IPV4_MSG %zu\n", sizeof(DHCP_MGR_IPV4_MSG));
        printf("size DHCP_MGR_IPV6_MSG %zu\n", sizeof(DHCP_MGR_IPV6_MSG));
        FIELD(DHCP_MGR_IPV4_MSG, ifname);
        FIELD(DHCP_MGR_IPV4_MSG, address);
        FIELD(DHCP_MGR_IPV4_MSG, netmask);
        FIELD(DHCP_MGR_IPV4_MSG, gateway);
        FIELD(DHCP_MGR_IPV4_MSG, dnsServer);
        FIELD(DHCP_MGR_IPV4_MSG, dnsServer1);
        FIELD(DHCP_MGR_IPV4_MSG, timeZone);
        FIELD(DHCP_MGR_IPV4_MSG, mtuSize);
        FIELD(DHCP_MGR_IPV4_MSG, timeOffset);
        FIELD(DHCP_MGR_IPV4_MSG, isTimeOffsetAssigned);
        FIELD(DHCP_MGR_IPV4_MSG, upstreamCurrRate);
        FIELD(DHCP_MGR_IPV4_MSG, downstreamCurrRate);
        FIELD(DHCP_MGR_IPV6_MSG, ifname);
        FIELD(DHCP_MGR_IPV6_MSG, address);
        FIELD(DHCP_MGR_IPV6_MSG, nameserver);
        FIELD(DHCP_MGR_IPV6_MSG, nameserver1);
        FIELD(DHCP_MGR_IPV6_MSG, domainName);
        FIELD(DHCP_MGR_IPV6_MSG, sitePrefix);
        FIELD(DHCP_MGR_IPV6_MSG, prefixPltime);
        FIELD(DHCP_MGR_IPV6_MSG, prefixVltime);
        FIELD(DHCP_MGR_IPV6_MSG, addrAssigned);
        FIELD(DHCP_MGR_IPV6_MSG, prefixAssigned);
        FIELD(DHCP_MGR_IPV6_MSG, domainNameAssigned);
        FIELD(DHCP_MGR_IPV6_MSG, mapInfo.brIPv6Prefix);
        FIELD(DHCP_MGR_IPV6_MSG, mapInfo.ruleIPv4Prefix);
        FIELD(DHCP_MGR_IPV6_MSG, mapInfo.ruleIPv6Prefix);
        FIELD(DHCP_MGR_IPV6_MSG, mapInfo.pdIPv6Prefix);
        FIELD(DHCP_MGR_IPV6_MSG, mapInfo.iapdPrefixLen);
        FIELD(DHCP_MGR_IPV6_MSG, mapInfo.eaLen);
        FIELD(DHCP_MGR_IPV6_MSG, mapInfo.psidOffset);
        FIELD(DHCP_MGR_IPV6_MSG, mapInfo.psidLen);
        FIELD(DHCP_MGR_IPV6_MSG, mapInfo.psid);
        FIELD(DHCP_MGR_IPV6_MSG, mapInfo.ipv4Len);
        FIELD(DHCP_MGR_IPV6_MSG, mapInfo.ipv6Len);
        FIELD(DHCP_MGR_IPV6_MSG, mapInfo.ratio);
        FIELD(DHCP_MGR_IPV6_MSG, mapInfo.isFMR);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "v4") == 0) {
        DHCP_MGR_IPV4_MSG m;
        if (fread(&m, 1, sizeof m, stdin) != sizeof m || fgetc(stdin) != EOF) {
            fprintf(stderr, "layout: input is not sizeof(DHCP_MGR_IPV4_MSG) bytes\n");
            return 1;
        }
        print_v4("", &m);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "v6") == 0) {
        DHCP_MGR_IPV6_MSG m;
        if (fread(&m, 1, sizeof m, stdin) != sizeof m || fgetc(stdin) != EOF) {
            fprintf(stderr, "layout: input is not sizeof(DHCP_MGR_IPV6_MSG) bytes\n");
            return 1;
        }
        print_v6("", &m);
        return 0;
    }
    fprintf(stderr, "usage: layout layout|v4|v6\n");
    return 2;
}

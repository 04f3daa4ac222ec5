/* DHCP_MGR_IPV4_MSG / DHCP_MGR_IPV6_MSG, header version "v1", as docs/rbus.md derives them
 * (field names, order and sizes as WAN Manager and the C DHCP manager use them). Written for
 * dhcpmgr's tests: tests/rbus_layout.rs checks dhcpmgr's LeaseInfo encoding against it. */
#ifndef DHCPMGR_TEST_LEASE_INFO_V1_H
#define DHCPMGR_TEST_LEASE_INFO_V1_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    char ifname[64];
    char address[32];
    char netmask[32];
    char gateway[32];
    char dnsServer[64];
    char dnsServer1[64];
    char timeZone[64];
    uint32_t mtuSize;
    int32_t timeOffset;
    bool isTimeOffsetAssigned;
    uint32_t upstreamCurrRate;
    uint32_t downstreamCurrRate;
} DHCP_MGR_IPV4_MSG;

typedef struct {
    char brIPv6Prefix[128];
    char ruleIPv4Prefix[32];
    char ruleIPv6Prefix[128];
    char pdIPv6Prefix[128];
    uint32_t iapdPrefixLen;
    uint32_t eaLen;
    uint32_t psidOffset;
    uint32_t psidLen;
    uint32_t psid;
    uint32_t ipv4Len;
    uint32_t ipv6Len;
    uint32_t ratio;
    bool isFMR;
} DHCP_MGR_MAPT_DATA;

typedef struct {
    char ifname[32];
    char address[48];
    char nameserver[128];
    char nameserver1[128];
    char domainName[64];
    char sitePrefix[48];
    uint32_t prefixPltime;
    uint32_t prefixVltime;
    bool addrAssigned;
    bool prefixAssigned;
    bool domainNameAssigned;
    DHCP_MGR_MAPT_DATA mapInfo;
} DHCP_MGR_IPV6_MSG;

/* Prints every field of a v4 message as `name=value` lines, prefixed. */
#include <stdio.h>
static inline void print_v4(const char *prefix, const DHCP_MGR_IPV4_MSG *m)
{
    printf("%sifname=%s\n", prefix, m->ifname);
    printf("%saddress=%s\n", prefix, m->address);
    printf("%snetmask=%s\n", prefix, m->netmask);
    printf("%sgateway=%s\n", prefix, m->gateway);
    printf("%sdnsServer=%s\n", prefix, m->dnsServer);
    printf("%sdnsServer1=%s\n", prefix, m->dnsServer1);
    printf("%stimeZone=%s\n", prefix, m->timeZone);
    printf("%smtuSize=%u\n", prefix, m->mtuSize);
    printf("%stimeOffset=%d\n", prefix, m->timeOffset);
    printf("%sisTimeOffsetAssigned=%d\n", prefix, (int)m->isTimeOffsetAssigned);
    printf("%supstreamCurrRate=%u\n", prefix, m->upstreamCurrRate);
    printf("%sdownstreamCurrRate=%u\n", prefix, m->downstreamCurrRate);
}

static inline void print_v6(const char *prefix, const DHCP_MGR_IPV6_MSG *m)
{
    printf("%sifname=%s\n", prefix, m->ifname);
    printf("%saddress=%s\n", prefix, m->address);
    printf("%snameserver=%s\n", prefix, m->nameserver);
    printf("%snameserver1=%s\n", prefix, m->nameserver1);
    printf("%sdomainName=%s\n", prefix, m->domainName);
    printf("%ssitePrefix=%s\n", prefix, m->sitePrefix);
    printf("%sprefixPltime=%u\n", prefix, m->prefixPltime);
    printf("%sprefixVltime=%u\n", prefix, m->prefixVltime);
    printf("%saddrAssigned=%d\n", prefix, (int)m->addrAssigned);
    printf("%sprefixAssigned=%d\n", prefix, (int)m->prefixAssigned);
    printf("%sdomainNameAssigned=%d\n", prefix, (int)m->domainNameAssigned);
    printf("%smapInfo.brIPv6Prefix=%s\n", prefix, m->mapInfo.brIPv6Prefix);
    printf("%smapInfo.ruleIPv4Prefix=%s\n", prefix, m->mapInfo.ruleIPv4Prefix);
    printf("%smapInfo.ruleIPv6Prefix=%s\n", prefix, m->mapInfo.ruleIPv6Prefix);
    printf("%smapInfo.pdIPv6Prefix=%s\n", prefix, m->mapInfo.pdIPv6Prefix);
    printf("%smapInfo.iapdPrefixLen=%u\n", prefix, m->mapInfo.iapdPrefixLen);
    printf("%smapInfo.eaLen=%u\n", prefix, m->mapInfo.eaLen);
    printf("%smapInfo.psidOffset=%u\n", prefix, m->mapInfo.psidOffset);
    printf("%smapInfo.psidLen=%u\n", prefix, m->mapInfo.psidLen);
    printf("%smapInfo.psid=%u\n", prefix, m->mapInfo.psid);
    printf("%smapInfo.ipv4Len=%u\n", prefix, m->mapInfo.ipv4Len);
    printf("%smapInfo.ipv6Len=%u\n", prefix, m->mapInfo.ipv6Len);
    printf("%smapInfo.ratio=%u\n", prefix, m->mapInfo.ratio);
    printf("%smapInfo.isFMR=%d\n", prefix, (int)m->mapInfo.isFMR);
}

#endif

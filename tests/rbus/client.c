/* An RBUS consumer for dhcpmgr's tests, built from rbus's public headers against the real
 * librbus: what WAN Manager, dmcli and the TR-069/USP agents do to the DHCP manager, one
 * command per run.
 *
 *   client get NAME...                 NAME=VALUE per name (exit 1 on an error: `error NAME RC`)
 *   client set NAME TYPE VALUE [...]   one rbus_set, or one rbus_setMulti for several (atomic);
 *                                      TYPE is boolean, string, uint32 or int32
 *   client addrow TABLE                prints the new instance number
 *   client delrow ROW
 *   client listen EVENT SECONDS        subscribes (prints `subscribed`), prints each event until
 *                                      SIGTERM or SECONDS pass, then unsubscribes
 *   client getevents NAME              the value of an Events property, printed like an event
 *   client health COMPONENT            invokes COMPONENT.GetHealth() as CcspBaseIf_getHealth
 *                                      does; prints `status=N`
 *   client attributes COMPONENT NAME...
 *                                      invokes COMPONENT.GetAttributes() as common-library's
 *                                      CcspBaseIf_getParameterAttributes_rbus does and reads the
 *                                      answer as it does (positionally); prints `size=N`, then
 *                                      `NAME notificationChanged notification access
 *                                      accessControlChanged accessControlBitmask RequesterID`
 *
 * Events print as `event NAME`, then `at=` (CLOCK_REALTIME, ns), `value=` (value-change
 * events), `MsgType=`, `IfName=`,
 * `LeaseInfo.len=`, the LeaseInfo fields as `lease.FIELD=VALUE` when the length matches the v1
 * struct, and `end`. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rbus.h>

#include "lease_info_v1.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static void print_event_object(const char *name, rbusObject_t data)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    printf("event %s\n", name);
    printf("at=%lld\n", (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
    rbusValue_t v = rbusObject_GetValue(data, "value");
    if (v) {
        char *text = rbusValue_ToString(v, NULL, 0);
        printf("value=%s\n", text ? text : "");
        free(text);
    }
    v = rbusObject_GetValue(data, "MsgType");
    if (v)
        printf("MsgType=%u\n", rbusValue_GetUInt32(v));
    v = rbusObject_GetValue(data, "IfName");
    if (v)
        printf("IfName=%s\n", rbusValue_GetString(v, NULL));
    v = rbusObject_GetValue(data, "LeaseInfo");
    if (v) {
        int len = 0;
        uint8_t const *bytes = rbusValue_GetBytes(v, &len);
        printf("LeaseInfo.len=%d\n", len);
        if (strstr(name, "DHCPv4") && (size_t)len == sizeof(DHCP_MGR_IPV4_MSG)) {
            DHCP_MGR_IPV4_MSG m;
            memcpy(&m, bytes, sizeof m);
            print_v4("lease.", &m);
        } else if (strstr(name, "DHCPv6") && (size_t)len == sizeof(DHCP_MGR_IPV6_MSG)) {
            DHCP_MGR_IPV6_MSG m;
            memcpy(&m, bytes, sizeof m);
            print_v6("lease.", &m);
        }
    }
    printf("end\n");
    fflush(stdout);
}

static void on_event(rbusHandle_t handle, rbusEvent_t const *event, rbusEventSubscription_t *sub)
{
    (void)handle;
    (void)sub;
    print_event_object(event->name, event->data);
}

static rbusValueType_t value_type(const char *name)
{
    if (strcmp(name, "boolean") == 0)
        return RBUS_BOOLEAN;
    if (strcmp(name, "uint32") == 0)
        return RBUS_UINT32;
    if (strcmp(name, "int32") == 0)
        return RBUS_INT32;
    return RBUS_STRING;
}

static int fail(const char *what, const char *name, rbusError_t rc)
{
    printf("error %s %d %s\n", name, (int)rc, rbusError_ToString(rc));
    fprintf(stderr, "client: %s %s: %s (%d)\n", what, name, rbusError_ToString(rc), (int)rc);
    return 1;
}

static int run(rbusHandle_t h, int argc, char **argv)
{
    const char *cmd = argv[1];
    rbusError_t rc;
    if (strcmp(cmd, "get") == 0) {
        for (int i = 2; i < argc; i++) {
            rbusValue_t value = NULL;
            rc = rbus_get(h, argv[i], &value);
            if (rc != RBUS_ERROR_SUCCESS)
                return fail("get", argv[i], rc);
            char *text = rbusValue_ToString(value, NULL, 0);
            printf("%s=%s\n", argv[i], text ? text : "");
            free(text);
            rbusValue_Release(value);
        }
        return 0;
    }
    if (strcmp(cmd, "set") == 0 && argc >= 5 && (argc - 2) % 3 == 0) {
        int n = (argc - 2) / 3;
        rbusProperty_t first = NULL;
        for (int i = 0; i < n; i++) {
            rbusValue_t value;
            rbusValue_Init(&value);
            if (!rbusValue_SetFromString(value, value_type(argv[3 + 3 * i]), argv[4 + 3 * i])) {
                fprintf(stderr, "client: %s is not a %s\n", argv[4 + 3 * i], argv[3 + 3 * i]);
                return 2;
            }
            if (n == 1) {
                rc = rbus_set(h, argv[2], value, NULL);
                rbusValue_Release(value);
                if (rc != RBUS_ERROR_SUCCESS)
                    return fail("set", argv[2], rc);
                printf("ok\n");
                return 0;
            }
            rbusProperty_t p;
            rbusProperty_Init(&p, argv[2 + 3 * i], value);
            rbusValue_Release(value);
            if (first) {
                rbusProperty_Append(first, p);
                rbusProperty_Release(p);
            } else {
                first = p;
            }
        }
        rbusSetOptions_t opts = {true, 0};
        rc = rbus_setMulti(h, n, first, &opts);
        rbusProperty_Release(first);
        if (rc != RBUS_ERROR_SUCCESS)
            return fail("setMulti", argv[2], rc);
        printf("ok\n");
        return 0;
    }
    if (strcmp(cmd, "addrow") == 0 && argc == 3) {
        uint32_t instance = 0;
        rc = rbusTable_addRow(h, argv[2], NULL, &instance);
        if (rc != RBUS_ERROR_SUCCESS)
            return fail("addrow", argv[2], rc);
        printf("instance=%u\n", instance);
        return 0;
    }
    if (strcmp(cmd, "delrow") == 0 && argc == 3) {
        rc = rbusTable_removeRow(h, argv[2]);
        if (rc != RBUS_ERROR_SUCCESS)
            return fail("delrow", argv[2], rc);
        printf("ok\n");
        return 0;
    }
    if (strcmp(cmd, "listen") == 0 && argc == 4) {
        int seconds = atoi(argv[3]);
        rc = rbusEvent_Subscribe(h, argv[2], on_event, NULL, 10);
        if (rc != RBUS_ERROR_SUCCESS)
            return fail("subscribe", argv[2], rc);
        printf("subscribed\n");
        fflush(stdout);
        for (int i = 0; i < seconds * 10 && !stop; i++)
            usleep(100000);
        rc = rbusEvent_Unsubscribe(h, argv[2]);
        if (rc != RBUS_ERROR_SUCCESS)
            return fail("unsubscribe", argv[2], rc);
        printf("unsubscribed\n");
        return 0;
    }
    if (strcmp(cmd, "getevents") == 0 && argc == 3) {
        rbusValue_t value = NULL;
        rc = rbus_get(h, argv[2], &value);
        if (rc != RBUS_ERROR_SUCCESS)
            return fail("get", argv[2], rc);
        if (rbusValue_GetType(value) == RBUS_OBJECT)
            print_event_object(argv[2], rbusValue_GetObject(value));
        else
            printf("novalue\n");
        rbusValue_Release(value);
        return 0;
    }
    if (strcmp(cmd, "health") == 0 && argc == 3) {
        char method[256];
        snprintf(method, sizeof method, "%s.GetHealth()", argv[2]);
        rbusObject_t out = NULL;
        rc = rbusMethod_Invoke(h, method, NULL, &out);
        if (rc != RBUS_ERROR_SUCCESS)
            return fail("invoke", method, rc);
        rbusValue_t status = rbusObject_GetValue(out, "status");
        printf("status=%d\n", status ? rbusValue_GetInt32(status) : -1);
        rbusObject_Release(out);
        return 0;
    }
    if (strcmp(cmd, "attributes") == 0 && argc >= 4) {
        char method[256];
        snprintf(method, sizeof method, "%s.GetAttributes()", argv[2]);
        rbusObject_t in = NULL, out = NULL;
        rbusProperty_t list = NULL;
        rbusObject_Init(&in, NULL);
        for (int i = 3; i < argc; i++) {
            rbusProperty_t prop;
            rbusProperty_Init(&prop, argv[i], NULL);
            if (list == NULL) {
                list = prop;
            } else {
                rbusProperty_Append(list, prop);
                rbusProperty_Release(prop);
            }
        }
        rbusObject_SetProperties(in, list);
        rbusProperty_Release(list);
        rc = rbusMethod_Invoke(h, method, in, &out);
        rbusObject_Release(in);
        if (rc != RBUS_ERROR_SUCCESS) {
            if (out)
                rbusObject_Release(out);
            return fail("invoke", method, rc);
        }
        rbusProperty_t size = out ? rbusObject_GetProperties(out) : NULL;
        int n = size ? rbusValue_GetInt32(rbusProperty_GetValue(size)) : -1;
        printf("size=%d\n", n);
        rbusObject_t child = out ? rbusObject_GetChildren(out) : NULL;
        for (int i = 0; i < n && child; i++, child = rbusObject_GetNext(child)) {
            rbusProperty_t prop = rbusObject_GetProperties(child);
            int notification_changed = rbusProperty_GetBoolean(prop);
            int notification = rbusProperty_GetBoolean(prop = rbusProperty_GetNext(prop));
            int access = rbusProperty_GetInt32(prop = rbusProperty_GetNext(prop));
            int acl_changed = rbusProperty_GetBoolean(prop = rbusProperty_GetNext(prop));
            unsigned acl = rbusProperty_GetUInt32(prop = rbusProperty_GetNext(prop));
            unsigned requester = rbusProperty_GetUInt32(rbusProperty_GetNext(prop));
            printf("%s %d %d %d %d %u %u\n", rbusObject_GetName(child), notification_changed,
                notification, access, acl_changed, acl, requester);
        }
        if (out)
            rbusObject_Release(out);
        return 0;
    }
    fprintf(stderr, "client: bad command line (see tests/rbus/client.c)\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: client get|set|addrow|delrow|listen|getevents ...\n");
        return 2;
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    char component[64];
    snprintf(component, sizeof component, "dhcpmgr-test-client-%d", (int)getpid());
    rbusHandle_t h;
    rbusError_t rc = rbus_open(&h, component);
    if (rc != RBUS_ERROR_SUCCESS) {
        fprintf(stderr, "client: rbus_open: %s (%d): is rtrouted running?\n", rbusError_ToString(rc), (int)rc);
        return 3;
    }
    int status = run(h, argc, argv);
    rbus_close(h);
    return status;
}

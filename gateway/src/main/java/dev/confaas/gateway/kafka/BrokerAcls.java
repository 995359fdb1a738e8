package dev.confaas.gateway.kafka;

import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The embedded broker's ACLs for the client user: every topic and group but the platform's. Kafka
 * lets a DENY win over an ALLOW, so "all topics, except those prefixed {@code confaas.}" is an ALLOW
 * on {@code *} and a DENY on the prefix. Creating an ACL that exists is a no-op, so this runs at
 * every start.
 */
final class BrokerAcls {
  /** Topics only the platform may touch: async invocations and their results. */
  static final String INTERNAL_TOPIC_PREFIX = "confaas.";
  /** Groups only the platform may join: the async worker and the triggers' default groups. */
  static final String INTERNAL_GROUP_PREFIX = "confaas-";

  private BrokerAcls() {}

  static void grantClient(KafkaClients platform, String clientUser) {
    String principal = "User:" + clientUser;
    ResourcePattern anyTopic = new ResourcePattern(ResourceType.TOPIC, "*", PatternType.LITERAL);
    ResourcePattern internalTopics =
        new ResourcePattern(ResourceType.TOPIC, INTERNAL_TOPIC_PREFIX, PatternType.PREFIXED);
    ResourcePattern anyGroup = new ResourcePattern(ResourceType.GROUP, "*", PatternType.LITERAL);
    ResourcePattern internalGroups =
        new ResourcePattern(ResourceType.GROUP, INTERNAL_GROUP_PREFIX, PatternType.PREFIXED);
    List<AclBinding> acls = List.of(
        allow(anyTopic, principal, AclOperation.READ),
        allow(anyTopic, principal, AclOperation.WRITE),
        allow(anyTopic, principal, AclOperation.DESCRIBE),
        deny(internalTopics, principal),
        allow(anyGroup, principal, AclOperation.READ),
        allow(anyGroup, principal, AclOperation.DESCRIBE),
        deny(internalGroups, principal));
    try (Admin admin = Admin.create(platform.settings())) {
      admin.createAcls(acls).all().get(60, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("could not set the embedded Kafka broker's ACLs at "
          + platform + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted setting Kafka ACLs", e);
    }
  }

  private static AclBinding allow(ResourcePattern on, String principal, AclOperation op) {
    return new AclBinding(on, new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW));
  }

  private static AclBinding deny(ResourcePattern on, String principal) {
    return new AclBinding(on,
        new AccessControlEntry(principal, "*", AclOperation.ALL, AclPermissionType.DENY));
  }
}

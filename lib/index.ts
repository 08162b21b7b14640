// The library's public API: the constructs, their props and enums, the chart that composes them,
// and the types those props refer to. Internal helpers (pod-spec builders, the renderer, the config
// loader) are imported by path inside the project; __tests__/public-api.test.ts lists every export.
export type { ComponentIdentity } from './k8s/labels';
export type { MetricsService } from './k8s/metrics-service';
export type { IAffinityTarget, ProbeSettings, ProbeTimings, ResourceSpec } from './k8s/pod-spec';

export { AntiAffinity, AntiAffinityMode, NodeAffinityOperator, Topology } from './constructs/anti-affinity';
export type { AntiAffinityOptions, AntiAffinityProps, NodeAffinityRule } from './constructs/anti-affinity';
export { ClaimSource, StorageClaims } from './constructs/storage-claims';
export type { ClaimOptions, NfsVolumeOptions, StorageClaim, StorageClaimsProps } from './constructs/storage-claims';
export { MARIADB_DEFAULT_IMAGE, MYSQLD_EXPORTER_DEFAULT_IMAGE, MYSQLD_EXPORTER_PORT, MariaDbStatefulSet } from './constructs/mariadb-statefulset';
export type {
  DatabaseClient, MariaDbCredentials, MariaDbGalera, MariaDbMetrics, MariaDbReplication, MariaDbStatefulSetProps, ResolvedMariaDbCredentials,
  ResolvedMariaDbGalera, ResolvedMariaDbReplication,
} from './constructs/mariadb-statefulset';
export { Track, WORDPRESS_DEFAULT_IMAGE, WORDPRESS_KEY_NAMES, WhenUnsatisfiable, WordPressApp } from './constructs/wordpress-app';
export type { IDatabaseConnection, PhpSettings, TopologySpread, WordPressAppProps, WordPressAutoscaling, WordPressMetrics } from './constructs/wordpress-app';
export { APACHE_EXPORTER_DEFAULT_IMAGE, APACHE_EXPORTER_PORT } from './constructs/apache-metrics';
export { WordPressCron } from './constructs/wordpress-cron';
export type { WordPressCronProps } from './constructs/wordpress-cron';
export { ExposureType, IngressController, IngressRule, IngressTls, IssuerKind, TlsMode } from './constructs/ingress-rule';
export type { CanaryBackend, IHttpBackend, IngressRuleProps } from './constructs/ingress-rule';
export { GatewayRoute } from './constructs/gateway-route';
export type { GatewayRef, GatewayRouteProps } from './constructs/gateway-route';
export { OpenShiftRoute } from './constructs/openshift-route';
export type { OpenShiftRouteProps } from './constructs/openshift-route';
export { IstioCanary } from './constructs/istio-canary';
export type { IstioCanaryProps } from './constructs/istio-canary';
export { MariaDbBackup } from './constructs/mariadb-backup';
export type { BackupRetention, MariaDbBackupProps } from './constructs/mariadb-backup';
export { MariaDbRestore } from './constructs/mariadb-restore';
export type { MariaDbRestoreProps } from './constructs/mariadb-restore';
export { SiteNetworkPolicies, WebAccess } from './constructs/network-policies';
export type { IClientTrackingServer, MetricsTarget, NamespacedPods, SiteNetworkPoliciesProps } from './constructs/network-policies';
export { SiteMonitoring } from './constructs/site-monitoring';
export type { SiteMonitoringProps } from './constructs/site-monitoring';
export { NamespaceQuota } from './constructs/namespace-quota';
export type { NamespaceQuotaProps } from './constructs/namespace-quota';
export { DeployerAccess } from './constructs/deployer-access';
export type { DeployerAccessProps } from './constructs/deployer-access';

export { WordPressChart } from './chart/wordpress-chart';
export type { WordPressChartProps } from './chart/wordpress-chart';
export type { EnvironmentConfig, SiteConfig } from './config/schema';

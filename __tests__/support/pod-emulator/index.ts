// Pod emulator: run the pods of rendered manifests on this machine with the images' own entrypoints
// (see docs/pod-emulation.md).
export { admitOpenShiftRestricted, forOpenShift, OPENSHIFT_DEFAULT_UID } from './admission';
export { Cluster, Pod, readOnlyWrites } from './cluster';
export type { ProbeResult, Service, StartOptions } from './cluster';
export { imageInfo, parseImage, referenceAvailable, REFERENCE_IMAGES } from './catalogue';
export type { ImageInfo } from './catalogue';
export { removeLayers } from './layers';
export { expandVars, resolvePod, workloads } from './spec';
export type { ContainerPlan, PodPlan } from './spec';

/** Whether this process can run the emulator (root, unshare, setpriv, nsenter, ip, curl). */
export function emulatorAvailable(): { ok: boolean; reason?: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'the pod emulator needs Linux namespaces' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'the pod emulator needs root (unshare, mount, veth)' };
  return { ok: true };
}

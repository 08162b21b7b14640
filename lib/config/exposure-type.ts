import type { ExposureConfig, SiteConfig } from './schema';

/**
 * How a site is reached, with the default the schema documents (an Ingress). Apart from schema.ts
 * so that rendering never loads TypeBox, which schema.ts runs at load (0.1 s of every synth).
 */
export function exposureTypeOf(site: SiteConfig): NonNullable<ExposureConfig['type']> {
  return site.exposure?.type ?? 'ingress';
}

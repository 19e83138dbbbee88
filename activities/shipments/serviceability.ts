import type { Address } from '../../shared/order';

/** Countries the simulated carrier delivers to; see the README's "Test addresses". */
export const SERVICEABLE_COUNTRIES = new Set([
  'US',
  'CA',
  'GB',
  'IE',
  'DE',
  'FR',
  'NL',
  'BE',
  'ES',
  'IT',
  'AT',
  'CH',
]);

/** Returns why an address cannot be served, or undefined when it can. */
export function unserviceableReason(address: Address): string | undefined {
  if (!SERVICEABLE_COUNTRIES.has(address.country)) return `country ${address.country} is not served`;
  if (/^0+$/.test(address.postalCode.replace(/\s/g, '')))
    return `postal code ${address.postalCode} is not served`;
  return undefined;
}

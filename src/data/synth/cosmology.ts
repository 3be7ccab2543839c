// Flat Lambda-CDM distances (H0 = 70 km/s/Mpc, Omega_m = 0.3), tabulated once for fast lookup.

export const H0 = 70;
export const OMEGA_M = 0.3;
const C_KM_S = 299792.458;
const HUBBLE_DISTANCE_MPC = C_KM_S / H0;

const Z_MAX = 1.0;
const STEP = 0.0005;
/** Comoving distance in Mpc at z = i * STEP. */
const COMOVING: Float64Array = (() => {
  const n = Math.round(Z_MAX / STEP) + 1;
  const t = new Float64Array(n);
  const invE = (z: number): number => 1 / Math.sqrt(OMEGA_M * (1 + z) ** 3 + (1 - OMEGA_M));
  for (let i = 1; i < n; i++) {
    const z0 = (i - 1) * STEP;
    // Simpson's rule per step: exact to ~1e-12 for this smooth integrand.
    t[i] = t[i - 1]! + (HUBBLE_DISTANCE_MPC * STEP * (invE(z0) + 4 * invE(z0 + STEP / 2) + invE(z0 + STEP))) / 6;
  }
  return t;
})();

/** Line-of-sight comoving distance in Mpc (0 <= z <= 1). */
export function comovingDistanceMpc(z: number): number {
  const x = Math.min(Math.max(z, 0), Z_MAX) / STEP;
  const i = Math.min(Math.floor(x), COMOVING.length - 2);
  const f = x - i;
  return COMOVING[i]! + f * (COMOVING[i + 1]! - COMOVING[i]!);
}

export function luminosityDistanceMpc(z: number): number {
  return (1 + z) * comovingDistanceMpc(z);
}

export function angularDiameterDistanceMpc(z: number): number {
  return comovingDistanceMpc(z) / (1 + z);
}

/** m - M for a source at redshift z (no k-correction). */
export function distanceModulus(z: number): number {
  return 5 * Math.log10(luminosityDistanceMpc(z)) + 25;
}

/** Arcseconds subtended by one physical kpc at redshift z. */
export function arcsecPerKpc(z: number): number {
  return 206264.806 / (angularDiameterDistanceMpc(z) * 1000);
}

/** The Gatehouse software version carried in Hello and reported by the Admin API. */
export const GATEHOUSE_VERSION = '0.1.0';

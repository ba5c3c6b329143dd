// Spanish (es-ES) formatting for the numbers a cyclist reads.

const formats = new Map();

function number(value, decimals) {
  if (!formats.has(decimals)) {
    formats.set(
      decimals,
      new Intl.NumberFormat("es-ES", {
        minimumFractionDigits: decimals,
        maximumFractionDigits: decimals,
      }),
    );
  }
  return formats.get(decimals).format(value);
}

export const km = (v) => `${number(v, 2)} km`;
export const meters = (v) => `${number(v, 0)} m`;
export const speed = (v) => `${number(v, 1)} km/h`;
export const integer = (v) => number(v, 0);
export const decimal = (v, d = 1) => number(v, d);

export function duration(seconds) {
  const total = Math.round(seconds);
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${pad(minutes)} min`;
  return `${minutes} min ${pad(secs)} s`;
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${number(n / 1024, 0)} KB`;
  return `${number(n / (1024 * 1024), 1)} MB`;
}

const dateTimeFormat = new Intl.DateTimeFormat("es-ES", { dateStyle: "medium", timeStyle: "short" });
const dateFormat = new Intl.DateTimeFormat("es-ES", { dateStyle: "long" });

export const dateTime = (iso) => dateTimeFormat.format(new Date(iso));
export const date = (iso) => dateFormat.format(new Date(iso));

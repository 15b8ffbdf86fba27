/**
 * Text that came from outside (diffs, reasons, comments, names, error messages) is printed to a
 * terminal: escape sequences in it could clear the screen, move the cursor over earlier lines, set
 * the window title or write to the clipboard (OSC 52). Our own colouring is added after this runs.
 */

/**
 * ESC-introduced sequences, whole: CSI (`ESC [ params final`), OSC/DCS/SOS/PM/APC strings up to their
 * terminator (BEL or ST), and two-character escapes. A lone trailing ESC is caught by CONTROL below.
 */
// eslint-disable-next-line no-control-regex
const ESCAPE_SEQUENCE = /\x1b(?:\[[0-?]*[ -/]*[@-~]?|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -~])/g;

/** C0 controls except tab and newline (so carriage return and backspace too), DEL, and C1 controls. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** `text` without terminal control: escape sequences removed whole, other control characters dropped. */
export function printable(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, '').replace(CONTROL, '');
}

/** A copy of `value` with every string in it made printable (for rendering whole states and rows). */
export function printableDeep<T>(value: T): T {
  if (typeof value === 'string') return printable(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => printableDeep(v)) as T;
  // Plain objects only: a Date or a Map is left as it is.
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [printable(k), printableDeep(v as unknown)]),
    ) as T;
  }
  return value;
}

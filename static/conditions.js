// Reveal questions in place when the answers they depend on make them apply.
// The rules are the same structured conditions the server checks (questionnaires/conditions.py);
// the server stays the judge: an answer to a question that does not apply is dropped there.

function isAnswered(value) {
  if (value === null || value === undefined) return false;
  if (typeof value === "string") return value.trim() !== "";
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

function readAnswer(form, id) {
  const inputs = form.querySelectorAll(`[name="${CSS.escape(id)}"]`);
  if (inputs.length > 0) {
    const first = inputs[0];
    if (first.type === "radio") {
      const checked = [...inputs].find((i) => i.checked);
      return checked ? checked.value : null;
    }
    if (first.type === "checkbox") {
      return [...inputs].filter((i) => i.checked).map((i) => i.value);
    }
    const text = first.value.trim();
    if (text !== "" && (first.inputMode === "numeric" || first.inputMode === "decimal") && /^-?[\d,]*\.?\d+$/.test(text)) {
      return Number(text.replace(/,/g, ""));
    }
    return text;
  }
  const day = form.querySelector(`[name="${CSS.escape(id)}-day"]`);
  if (day) {
    const month = form.querySelector(`[name="${CSS.escape(id)}-month"]`).value.trim();
    const year = form.querySelector(`[name="${CSS.escape(id)}-year"]`).value.trim();
    const d = day.value.trim();
    if (!d || !month || !year) return null;
    return `${year.padStart(4, "0")}-${month.padStart(2, "0")}-${d.padStart(2, "0")}`;
  }
  return null;
}

function compare(value, op, other) {
  if (typeof value === "number" && typeof other === "number") {
    return { gt: value > other, gte: value >= other, lt: value < other, lte: value <= other }[op];
  }
  if (typeof value === "string" && typeof other === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    return { gt: value > other, gte: value >= other, lt: value < other, lte: value <= other }[op];
  }
  return false;
}

export function evaluate(condition, answer) {
  if (!condition) return true;
  if (condition.all) return condition.all.every((c) => evaluate(c, answer));
  if (condition.any) return condition.any.some((c) => evaluate(c, answer));
  if (condition.not) return !evaluate(condition.not, answer);
  const value = answer(condition.question);
  if ("answered" in condition) return isAnswered(value) === Boolean(condition.answered);
  if (!isAnswered(value)) return false;
  if ("equals" in condition) {
    return Array.isArray(value) ? value.includes(condition.equals) : value === condition.equals;
  }
  if ("in" in condition) {
    return Array.isArray(value) ? value.some((v) => condition.in.includes(v)) : condition.in.includes(value);
  }
  for (const op of ["gt", "gte", "lt", "lte"]) {
    if (op in condition) return compare(value, op, condition[op]);
  }
  return false;
}

function update(form) {
  for (const box of form.querySelectorAll(".app-conditional-question")) {
    const condition = JSON.parse(box.dataset.showIf);
    const prior = JSON.parse(box.dataset.prior || "{}");
    const answer = (id) => (id in prior ? prior[id] : readAnswer(form, id));
    box.hidden = !evaluate(condition, answer);
  }
}

for (const form of document.querySelectorAll("form.app-questions")) {
  if (!form.querySelector(".app-conditional-question")) continue;
  form.addEventListener("change", () => update(form));
  form.addEventListener("input", () => update(form));
  update(form);
}

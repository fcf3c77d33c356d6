// The contract's drawing pad: draw with a finger or a mouse; the PNG goes in the form's file
// field and the form is posted with its CSRF token and form key (the server checks the image).
(function () {
  var pad = document.getElementById("pad"), form = document.getElementById("sign-form");
  var hint = document.getElementById("pad-hint"), ctx = pad.getContext("2d"), drawn = 0, last = null;
  ctx.lineWidth = 5; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#000";
  function at(e) {
    var r = pad.getBoundingClientRect();
    return { x: (e.clientX - r.left) * pad.width / r.width, y: (e.clientY - r.top) * pad.height / r.height };
  }
  pad.addEventListener("pointerdown", function (e) { last = at(e); pad.setPointerCapture(e.pointerId); });
  pad.addEventListener("pointermove", function (e) {
    if (!last) return;
    var p = at(e); ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke();
    drawn += Math.abs(p.x - last.x) + Math.abs(p.y - last.y); last = p;
  });
  ["pointerup", "pointercancel", "pointerleave"].forEach(function (t) { pad.addEventListener(t, function () { last = null; }); });
  document.getElementById("pad-clear").addEventListener("click", function () {
    ctx.clearRect(0, 0, pad.width, pad.height); drawn = 0; hint.textContent = "";
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (drawn < 40) { hint.textContent = "请先在签名板上签名"; return; }
    document.getElementById("pad-submit").disabled = true;
    pad.toBlob(function (png) {
      // A real form submission (not fetch), so the answer's redirect and message show as usual.
      var files = new DataTransfer();
      files.items.add(new File([png], "signature.png", { type: "image/png" }));
      document.getElementById("pad-file").files = files.files;
      form.submit();
    }, "image/png");
  });
})();

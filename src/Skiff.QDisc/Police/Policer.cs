using System.Buffers.Binary;
using Skiff.Hooks;
using Skiff.QDisc.Classify;
using Skiff.Wire;

namespace Skiff.QDisc.Police;

/// <summary>A packet's colour after metering (RFC 2697/2698).</summary>
public enum PolicerColor : byte
{
    /// <summary>Within the committed bucket (CIR and CBS).</summary>
    Green,
    /// <summary>Over the committed bucket but within the other: the excess burst EBS (srTCM) or the peak rate PIR and PBS (trTCM).</summary>
    Yellow,
    /// <summary>Over both buckets, or pre-coloured red when the meter is colour-aware.</summary>
    Red,
}

/// <summary>What a policer does with a frame of one colour.</summary>
public enum PolicerAction : byte
{
    /// <summary>Let it through unchanged.</summary>
    Pass,

    /// <summary>Drop it.</summary>
    Drop,

    /// <summary>Rewrite its DSCP (the remark DSCP of that colour) and let it through.</summary>
    Remark,
}

/// <summary>
/// A two-bucket colour meter: srTCM (RFC 2697: CIR, CBS, EBS) or trTCM (RFC 2698: CIR, CBS, PIR, PBS), colour-blind or
/// colour-aware. Sans-I/O: the caller passes each frame's length, arrival time and, for colour-aware metering, the colour
/// it already carries. Tokens are kept in bit-microseconds so that refill is exact on the microsecond clock.
/// </summary>
public sealed class ColorMeter
{
    private const long Scale = 8_000_000; // token units per byte: bits x 10^6, so rate (bit/s) x elapsed (µs) adds exactly
    private readonly long _committedMax, _excessMax; // scaled
    private long _committed, _excess;                // Tc and Te (srTCM) or Tc and Tp (trTCM), scaled
    private Instant _last;
    private bool _started;

    private ColorMeter(bool twoRate, Rate committed, long cbs, Rate peak, long ebsOrPbs, bool colorAware)
    {
        if (committed.BitsPerSecond <= 0 || cbs < 0 || ebsOrPbs < 0 || (cbs == 0 && ebsOrPbs == 0))
        {
            throw new ArgumentException("A meter needs a positive CIR and at least one non-empty bucket.");
        }
        if (twoRate && (peak.BitsPerSecond < committed.BitsPerSecond || ebsOrPbs <= 0))
        {
            throw new ArgumentException($"trTCM needs PIR ({peak}) at least CIR ({committed}) and a positive PBS.");
        }
        IsTwoRate = twoRate;
        CommittedRate = committed;
        PeakRate = peak;
        CommittedBurst = cbs;
        ExcessBurst = ebsOrPbs;
        ColorAware = colorAware;
        _committedMax = cbs * Scale;
        _excessMax = ebsOrPbs * Scale;
        _committed = _committedMax; // both buckets start full (RFC 2697 section 3, RFC 2698 section 3)
        _excess = _excessMax;
    }

    /// <summary>The single rate three colour marker (RFC 2697).</summary>
    public static ColorMeter SingleRate(Rate cir, long cbs, long ebs, bool colorAware = false) => new(false, cir, cbs, default, ebs, colorAware);

    /// <summary>The two rate three colour marker (RFC 2698).</summary>
    public static ColorMeter TwoRate(Rate cir, long cbs, Rate pir, long pbs, bool colorAware = false) => new(true, cir, cbs, pir, pbs, colorAware);

    /// <summary>True for trTCM (RFC 2698), false for srTCM (RFC 2697).</summary>
    public bool IsTwoRate { get; }

    /// <summary>True when the meter honours the colour a frame already carries (metering can only make it worse); false when it ignores it.</summary>
    public bool ColorAware { get; }

    /// <summary>CIR: the committed information rate.</summary>
    public Rate CommittedRate { get; }

    /// <summary>PIR for trTCM, at least <see cref="CommittedRate"/>; a zero rate for srTCM.</summary>
    public Rate PeakRate { get; }

    /// <summary>CBS in bytes: the committed bucket's size.</summary>
    public long CommittedBurst { get; }

    /// <summary>EBS (srTCM) or PBS (trTCM).</summary>
    public long ExcessBurst { get; }

    /// <summary>Committed bucket tokens now, in bytes.</summary>
    public double CommittedTokens => _committed / (double)Scale;

    /// <summary>Excess (srTCM) or peak (trTCM) bucket tokens now, in bytes.</summary>
    public double ExcessTokens => _excess / (double)Scale;

    private void Refill(Instant now)
    {
        if (!_started)
        {
            _started = true;
            _last = now;
            return;
        }
        long elapsed = (now - _last).TotalMicros;
        if (elapsed <= 0)
        {
            return;
        }
        _last = now;
        // Cap the elapsed time so the products below cannot overflow: past that, both buckets are full anyway.
        long full = (_committedMax + _excessMax) / Math.Max(1, Math.Min(CommittedRate.BitsPerSecond, IsTwoRate ? PeakRate.BitsPerSecond : long.MaxValue)) + 1;
        elapsed = Math.Min(elapsed, full);
        if (IsTwoRate)
        {
            _committed = Math.Min(_committedMax, _committed + CommittedRate.BitsPerSecond * elapsed);
            _excess = Math.Min(_excessMax, _excess + PeakRate.BitsPerSecond * elapsed);
            return;
        }
        // srTCM: tokens go to the committed bucket, and what overflows it to the excess bucket.
        long add = CommittedRate.BitsPerSecond * elapsed;
        long room = _committedMax - _committed;
        if (add <= room)
        {
            _committed += add;
        }
        else
        {
            _committed = _committedMax;
            _excess = Math.Min(_excessMax, _excess + add - room);
        }
    }

    /// <summary>Meters a packet of <paramref name="bytes"/> arriving at <paramref name="now"/> that carries <paramref name="precolor"/> (ignored when colour-blind).</summary>
    public PolicerColor Meter(int bytes, Instant now, PolicerColor precolor = PolicerColor.Green)
    {
        Refill(now);
        long b = bytes * Scale;
        PolicerColor pre = ColorAware ? precolor : PolicerColor.Green;
        if (IsTwoRate)
        {
            // RFC 2698 section 3: red if over the peak bucket; yellow if over the committed one; green takes from both.
            if (pre == PolicerColor.Red || _excess - b < 0)
            {
                return PolicerColor.Red;
            }
            if (pre == PolicerColor.Yellow || _committed - b < 0)
            {
                _excess -= b;
                return PolicerColor.Yellow;
            }
            _excess -= b;
            _committed -= b;
            return PolicerColor.Green;
        }
        // RFC 2697 section 3.
        if (pre == PolicerColor.Green && _committed - b >= 0)
        {
            _committed -= b;
            return PolicerColor.Green;
        }
        if (pre != PolicerColor.Red && _excess - b >= 0)
        {
            _excess -= b;
            return PolicerColor.Yellow;
        }
        return PolicerColor.Red;
    }

    /// <c>srTCM cir R cbs Bb ebs Eb</c> or <c>trTCM cir R cbs Bb pir P pbs Pb</c>, with <c>color-aware</c> when it is.
    public override string ToString() => IsTwoRate
        ? $"trTCM cir {CommittedRate} cbs {CommittedBurst}b pir {PeakRate} pbs {ExcessBurst}b{(ColorAware ? " color-aware" : "")}"
        : $"srTCM cir {CommittedRate} cbs {CommittedBurst}b ebs {ExcessBurst}b{(ColorAware ? " color-aware" : "")}";
}

/// <summary>What a policer does per colour, and the DSCP it remarks to (AF drop precedences by default: AF11, AF12, AF13).</summary>
/// <param name="Green">The action for green frames; default pass.</param>
/// <param name="Yellow">The action for yellow frames; default pass.</param>
/// <param name="Red">The action for red frames; default drop.</param>
/// <param name="GreenDscp">The DSCP a green frame is remarked to; default 10 (AF11).</param>
/// <param name="YellowDscp">The DSCP a yellow frame is remarked to; default 12 (AF12).</param>
/// <param name="RedDscp">The DSCP a red frame is remarked to; default 14 (AF13).</param>
public sealed record PolicerActions(PolicerAction Green = PolicerAction.Pass, PolicerAction Yellow = PolicerAction.Pass, PolicerAction Red = PolicerAction.Drop,
    byte GreenDscp = 10, byte YellowDscp = 12, byte RedDscp = 14);

/// <summary>A policer's counters per colour.</summary>
public sealed class PolicerCounters
{
    /// <summary>Frames metered green, yellow and red (IP frames only); of them, those dropped and those whose DSCP was rewritten. Written by the loop thread.</summary>
    public long Green, Yellow, Red, Dropped, Remarked;
}

/// <summary>
/// A policer as a hook (tc's police action; ingress after the RX hooks, or egress in the TX chain): meters every IP
/// frame, colour-aware from its DSCP's AF drop precedence if the meter is, and drops, remarks or passes it by colour.
/// Non-IP frames pass unmetered. A struct: the hook chain inlines it (no virtual call per frame).
/// </summary>
/// <param name="meter">The meter; its buckets are shared by every copy of the hook.</param>
/// <param name="actions">What to do with each colour.</param>
/// <param name="counters">Where the colours, drops and remarks are counted.</param>
public readonly struct PolicerHook(ColorMeter meter, PolicerActions actions, PolicerCounters counters) : IPacketHook
{
    /// <summary>The counters this hook updates (the same object in every copy of the struct).</summary>
    public PolicerCounters Counters => counters;

    /// <summary>Meters an IP frame at <see cref="HookContext.Now"/>, colour-aware from its DSCP when the meter is, and applies its colour's action: <see cref="HookVerdict.Drop"/> for drop, else <see cref="HookVerdict.Pass"/>, after rewriting the DSCP for remark. Non-IP frames pass unmetered and uncounted.</summary>
    public HookVerdict Process(PacketBuffer frame, ref HookContext context)
    {
        PacketClass c = Priomap.EnsureClassified(frame);
        if ((c & (PacketClass.Ipv4 | PacketClass.Ipv6)) == 0)
        {
            return HookVerdict.Pass;
        }
        PolicerColor color = meter.Meter(frame.Length, context.Now, PrecolorOf(Priomap.DscpOf(frame)));
        (PolicerAction action, byte dscp) = color switch
        {
            PolicerColor.Green => (actions.Green, actions.GreenDscp),
            PolicerColor.Yellow => (actions.Yellow, actions.YellowDscp),
            _ => (actions.Red, actions.RedDscp),
        };
        switch (color)
        {
            case PolicerColor.Green: counters.Green++; break;
            case PolicerColor.Yellow: counters.Yellow++; break;
            default: counters.Red++; break;
        }
        if (action == PolicerAction.Drop)
        {
            counters.Dropped++;
            return HookVerdict.Drop;
        }
        if (action == PolicerAction.Remark && SetDscp(frame, dscp))
        {
            counters.Remarked++;
        }
        return HookVerdict.Pass;
    }

    /// <summary>The colour a frame carries by its DSCP (RFC 2597 AFxy: y = 1 green, 2 yellow, 3 red); other DSCPs are green.</summary>
    public static PolicerColor PrecolorOf(byte dscp)
    {
        int afClass = dscp >> 3, precedence = (dscp >> 1) & 3;
        if (afClass is < 1 or > 4 || (dscp & 1) != 0)
        {
            return PolicerColor.Green;
        }
        return precedence switch { 2 => PolicerColor.Yellow, 3 => PolicerColor.Red, _ => PolicerColor.Green };
    }

    /// <summary>Rewrites the DSCP of an IP frame, keeping its ECN bits (and the IPv4 checksum right).</summary>
    public static bool SetDscp(PacketBuffer frame, byte dscp)
    {
        PacketClass c = Priomap.EnsureClassified(frame);
        Span<byte> data = frame.Data;
        int l3 = frame.L3Offset;
        if ((c & PacketClass.Ipv4) != 0 && data.Length >= l3 + 20)
        {
            ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(data[l3..]);
            data[l3 + 1] = (byte)((dscp << 2) | (data[l3 + 1] & 3));
            ushort newWord = BinaryPrimitives.ReadUInt16BigEndian(data[l3..]);
            ushort check = BinaryPrimitives.ReadUInt16BigEndian(data[(l3 + 10)..]);
            BinaryPrimitives.WriteUInt16BigEndian(data[(l3 + 10)..], Checksum.Update(check, oldWord, newWord));
            return true;
        }
        if ((c & PacketClass.Ipv6) != 0 && data.Length >= l3 + 40)
        {
            int tc = (dscp << 2) | ((data[l3 + 1] >> 4) & 3);
            data[l3] = (byte)((data[l3] & 0xF0) | (tc >> 4));
            data[l3 + 1] = (byte)((data[l3 + 1] & 0x0F) | ((tc & 0xF) << 4));
            return true;
        }
        return false;
    }
}
